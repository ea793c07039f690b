package io.dataversesync.security;

import java.io.StringWriter;
import java.util.List;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Layout;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.ConfigurationFactory;
import org.apache.logging.log4j.core.config.ConfigurationSource;

/**
 * Everything the running service logs, rendered in both of its log formats at once: the plain layout of
 * log4j2.properties (local) and the JSON layout of log4j2-json.properties (production), each taken from its own
 * configuration file, so the test sees exactly what those files produce.
 */
final class LogCapture implements AutoCloseable {
    private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
    private final StringWriter plain = new StringWriter();
    private final StringWriter json = new StringWriter();
    private final List<Appender> appenders;

    LogCapture() {
        appenders = List.of(appender("capture-plain", layoutOf("log4j2.properties"), plain),
                appender("capture-json", layoutOf("log4j2-json.properties"), json));
        appenders.forEach(a -> context.getConfiguration().getRootLogger().addAppender(a, null, null));
    }

    /** The plain log so far. */
    String plain() {
        synchronized (plain) {
            return plain.toString();
        }
    }

    /** The JSON log so far (one object per line). */
    String json() {
        synchronized (json) {
            return json.toString();
        }
    }

    String both() {
        return plain() + json();
    }

    @Override
    public void close() {
        appenders.forEach(a -> {
            context.getConfiguration().getRootLogger().removeAppender(a.getName());
            a.stop();
        });
    }

    private Layout<?> layoutOf(String resource) {
        try {
            ConfigurationSource source = ConfigurationSource.fromResource(resource, getClass().getClassLoader());
            Configuration configuration = ConfigurationFactory.getInstance().getConfiguration(context, source);
            configuration.initialize();
            return configuration.getAppender("console").getLayout();
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the layout of " + resource, e);
        }
    }

    private static Appender appender(String name, Layout<?> layout, StringWriter target) {
        WriterAppender appender = WriterAppender.newBuilder().setName(name).setLayout(layout).setTarget(new Locked(target)).build();
        appender.start();
        return appender;
    }

    /** Appends under the writer's lock, so a reader sees whole events. */
    private static final class Locked extends java.io.Writer {
        private final StringWriter target;

        Locked(StringWriter target) {
            this.target = target;
        }

        @Override
        public void write(char[] cbuf, int off, int len) {
            synchronized (target) {
                target.write(cbuf, off, len);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
