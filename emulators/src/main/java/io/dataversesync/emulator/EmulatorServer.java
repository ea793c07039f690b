package io.dataversesync.emulator;

import io.dataversesync.dataverse.odata.ODataBatch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Common plumbing of the HTTP emulators: a loopback {@link HttpServer} on a fixed pool (so injected latency
 * does not serialise requests), request recording, fault injection and response helpers.
 */
public abstract class EmulatorServer implements AutoCloseable {

    static {
        // The JDK server writes headers and body separately; with Nagle on, keep-alive clients stall ~40 ms per
        // request on delayed ACKs. Read once when the JDK server classes load, so set it before the first server.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    /** Shared, thread-safe once configured. */
    protected static final ObjectMapper JSON = new ObjectMapper();

    /** Keeps memory bounded under long benchmarks; the oldest recordings are dropped first. */
    private static final int DEFAULT_RECORDING_LIMIT = 100_000;

    private final int requestedPort;
    private final int threads;
    private final String name;
    private final FaultInjector faults = new FaultInjector();
    private final ConcurrencyTracker concurrency = new ConcurrencyTracker();
    private final ConcurrentLinkedQueue<RecordedRequest> recorded = new ConcurrentLinkedQueue<>();
    private final AtomicInteger recordedSize = new AtomicInteger();
    private volatile int recordingLimit = DEFAULT_RECORDING_LIMIT;

    private HttpServer server;
    private ExecutorService executor;
    private volatile int boundPort = -1;

    protected EmulatorServer(String name, int port, int threads) {
        if (threads <= 0) {
            throw new IllegalArgumentException("threads must be positive");
        }
        this.name = name;
        this.requestedPort = port;
        this.threads = threads;
    }

    // ---------------------------------------------------------------- lifecycle

    /** Binds 127.0.0.1 (port 0 = ephemeral) and starts serving. Idempotent. */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            HttpServer created = HttpServer.create(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), requestedPort), 1024);
            ExecutorService pool = Executors.newFixedThreadPool(threads, daemonThreads(name));
            created.setExecutor(pool);
            created.createContext("/", this::exchange);
            created.start();
            server = created;
            executor = pool;
            boundPort = created.getAddress().getPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + " on port " + requestedPort, e);
        }
    }

    /** Stops serving at once. Idempotent. */
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server = null;
        executor = null;
        boundPort = -1;
    }

    @Override
    public void close() {
        stop();
    }

    /** The bound port; only valid while started. */
    public int port() {
        int port = boundPort;
        if (port < 0) {
            throw new IllegalStateException(name + " is not started");
        }
        return port;
    }

    /** e.g. {@code http://127.0.0.1:54321}, no trailing slash. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    public FaultInjector faults() {
        return faults;
    }

    /** Requests served at the same time, per method and path (e.g. to prove one row is never written in parallel). */
    public ConcurrencyTracker concurrency() {
        return concurrency;
    }

    // ---------------------------------------------------------------- recording

    /** Snapshot of the recorded requests, oldest first. */
    public List<RecordedRequest> requests() {
        return List.copyOf(recorded);
    }

    public void clearRequests() {
        recorded.clear();
        recordedSize.set(0);
    }

    /** How many requests to keep (oldest dropped first); default 100,000. */
    public void recordingLimit(int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive");
        }
        recordingLimit = limit;
    }

    // ---------------------------------------------------------------- subclass contract

    /** Serves one request; runs on a pool thread, concurrently with others. */
    protected abstract Response handle(Request request) throws Exception;

    /** The service's own answer for an injected fault. */
    protected abstract Response faultResponse(Request request, FaultInjector.Fault fault);

    /** Answer for an unexpected exception in {@link #handle}. */
    protected abstract Response internalError(Request request, Exception error);

    /** Content-Type of JSON answers. */
    protected String jsonContentType() {
        return "application/json; charset=utf-8";
    }

    /**
     * Waits the configured latency, then consumes an injected fault if one applies.
     * Subclasses call it once authentication (and admission) passed.
     */
    protected final Optional<Response> injectFaults(Request request) throws InterruptedException {
        Duration delay = faults.latencyFor(request.method());
        if (!delay.isZero()) {
            Thread.sleep(delay.toMillis(), delay.toNanosPart() % 1_000_000);
        }
        Optional<FaultInjector.Fault> next = faults.nextFault(request.method());
        if (next.isPresent() && next.get().kind() == FaultInjector.Fault.Kind.RESET) {
            throw new ConnectionDropped();
        }
        if (next.isPresent() && next.get().kind() == FaultInjector.Fault.Kind.TIMEOUT) {
            // served as usual; exchange() holds the answer back (the client timed out on a request that was done)
            answerDelay.set(next.get().delay());
            return Optional.empty();
        }
        return next.map(fault -> {
            Response response = faultResponse(request, fault);
            if (fault.retryAfterSeconds() != null) {
                response.header("Retry-After", String.valueOf(fault.retryAfterSeconds()));
            }
            return response;
        });
    }

    /** Thrown by {@link #injectFaults} for a reset: the connection is closed with no answer. */
    private static final class ConnectionDropped extends RuntimeException {
        ConnectionDropped() {
            super("injected connection reset", null, false, false);
        }
    }

    /** Set by {@link #injectFaults} for a timeout fault: how long to hold back this request's answer. */
    private static final ThreadLocal<Duration> answerDelay = new ThreadLocal<>();

    protected final Response json(int status, JsonNode body) {
        try {
            return new Response(status, JSON.writeValueAsBytes(body)).header("Content-Type", jsonContentType());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    protected static Response empty(int status) {
        return new Response(status, new byte[0]);
    }

    // ---------------------------------------------------------------- exchange handling

    private void exchange(HttpExchange exchange) {
        try (exchange) {
            Request request = readRequest(exchange);
            Instant receivedAt = Instant.now();
            Response response;
            concurrency.begin(request.method(), request.path());
            answerDelay.remove();
            try {
                try {
                    response = handle(request);
                } catch (ConnectionDropped dropped) {
                    // status 0 in the recording: no answer. Closing an exchange whose answer was never started
                    // closes its connection (the JDK server's ExchangeImpl.close), so the client reads end-of-stream.
                    record(request, 0, receivedAt);
                    return;
                } catch (Exception e) {
                    if (e instanceof InterruptedException) {
                        Thread.currentThread().interrupt();
                    }
                    response = internalError(request, e);
                }
                // record before answering: a client that saw the answer must also see the recording
                record(request, response.status(), receivedAt);
            } finally {
                // likewise: the request stops counting as in flight before its answer can reach the client
                concurrency.end(request.method(), request.path());
            }
            Duration delay = answerDelay.get();
            if (delay != null) {
                answerDelay.remove();
                Thread.sleep(delay.toMillis());
            }
            send(exchange, response);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            // the client went away or the server is stopping; nothing left to answer
        }
    }

    private static Request readRequest(HttpExchange exchange) throws IOException {
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readAllBytes();
        }
        Map<String, String> headers = new HashMap<>();
        exchange.getRequestHeaders().forEach((key, values) -> {
            if (!values.isEmpty()) {
                headers.put(key.toLowerCase(Locale.ROOT), values.get(0));
            }
        });
        return new Request(exchange.getRequestMethod().toUpperCase(Locale.ROOT),
                exchange.getRequestURI().getRawPath(), exchange.getRequestURI().getRawQuery(), headers, body);
    }

    private void record(Request request, int status, Instant receivedAt) {
        recorded.add(new RecordedRequest(Instant.now(), request.method(), request.path(), request.rawQuery(),
                request.headers(), request.bodyText(), status, receivedAt));
        if (recordedSize.incrementAndGet() > recordingLimit && recorded.poll() != null) {
            recordedSize.decrementAndGet();
        }
    }

    private static void send(HttpExchange exchange, Response response) throws IOException {
        response.headers().forEach((key, value) -> exchange.getResponseHeaders().add(key, value));
        byte[] body = response.body();
        boolean noBody = body.length == 0 || response.status() == 204 || response.status() == 304
                || "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(response.status(), noBody ? -1 : body.length);
        if (!noBody) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger counter = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, name + "-" + counter.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    // ---------------------------------------------------------------- value types

    /** A request as the emulators see it; also built for the operations inside a $batch. */
    protected record Request(String method, String path, String rawQuery, Map<String, String> headers, byte[] body) {

        protected Request {
            headers = Collections.unmodifiableMap(new HashMap<>(headers));
            body = body == null ? new byte[0] : body;
        }

        /** Header by case-insensitive name, or null. */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** Decoded query parameters, first value wins ('+' means space, as ASP.NET-hosted services read it). */
        public Map<String, String> queryParameters() {
            return parseForm(rawQuery, true);
        }
    }

    /** A mutable answer under construction; only touched by the thread serving the request. */
    protected static final class Response {
        private final int status;
        private final byte[] body;
        private final Map<String, String> headers = new LinkedHashMap<>();

        public Response(int status, byte[] body) {
            this.status = status;
            this.body = body;
        }

        public Response header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        public int status() {
            return status;
        }

        public byte[] body() {
            return body;
        }

        public Map<String, String> headers() {
            return headers;
        }
    }

    /** Parses {@code a=1&b=2}; {@code plusIsSpace} follows form encoding. First value of a name wins. */
    protected static Map<String, String> parseForm(String raw, boolean plusIsSpace) {
        Map<String, String> result = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return result;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            result.putIfAbsent(decode(key, plusIsSpace), decode(value, plusIsSpace));
        }
        return result;
    }

    protected static String decode(String text, boolean plusIsSpace) {
        String prepared = plusIsSpace ? text : text.replace("+", "%2B");
        return URLDecoder.decode(prepared, StandardCharsets.UTF_8);
    }

    /** Standard reason phrase, for status lines inside $batch answers. */
    protected static String reasonPhrase(int status) {
        return ODataBatch.reasonPhrase(status);
    }
}
