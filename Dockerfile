# dataverse-sync container image: the service module alone (no emulator, demo or benchmark class; tested by
# KubernetesManifestsTest and ProductionClasspathTest).
#   docker build -t dataverse-sync .
#   docker run --rm -p 8080:8080 dataverse-sync     # local default: embedded broker; Dataverse and the target are
#                                                    # expected where DATAVERSE_URL / TARGET_URL point
# On Kubernetes (k8s/) the pod sets CAMEL_MAIN_PROFILE=azure, SYNC_ROUTES_LOCATION=file:/config/routes and
# LOG4J_CONFIGURATION_FILE=classpath:log4j2-json.properties, mounts the routes at /config/routes, an emptyDir at
# /tmp, and runs with a read-only root filesystem.

# ---- build -------------------------------------------------------------------------------------------------
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build
# dependencies first: this layer is rebuilt only when a pom.xml changes
COPY pom.xml ./
COPY odata/pom.xml odata/
COPY emulators/pom.xml emulators/
COPY service/pom.xml service/
COPY demo/pom.xml demo/
COPY bench/pom.xml bench/
RUN mvn -B -q -pl service -am dependency:go-offline
# then the sources the service is built from (its jar also carries application*.properties and routes/, see
# service/pom.xml <resources>). -am also lists the emulators module (a test-scoped dependency of the service's
# tests); without its sources it is an empty jar, and the tests are not built here (maven.test.skip)
COPY odata/src odata/src
COPY service/src service/src
COPY routes ./routes
COPY application*.properties ./
RUN mvn -B -Dmaven.test.skip=true -pl service -am package \
 && test -f service/target/dataverse-sync.jar && test -d service/target/lib

# ---- runtime -----------------------------------------------------------------------------------------------
FROM eclipse-temurin:17-jre
LABEL org.opencontainers.image.title="dataverse-sync" \
      org.opencontainers.image.description="Dataverse to target-system sync (Apache Camel YAML routes)"

# fixed non-root UID/GID (k8s runAsUser: 10001); application files stay root-owned and read-only for it
RUN groupadd --system --gid 10001 sync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin sync \
 && mkdir -p /app/data /config/routes \
 && chown 10001:10001 /app/data
WORKDIR /app

# Heap = 50 % of the container's memory limit (1 GiB in k8s/base: 512 MB). Why 50 and not the usual 75: the crash
# test runs the service with -Xmx256m through a 2,000-change burst with no loss (README, "Crash, soak, memory and
# latency"), so 512 MB is twice what the work needs; and this JVM's memory outside the heap is large: measured after
# that burst (local mode, jstat and ps), 362 MB resident with 120 MB of heap committed, i.e. ~240 MB outside it
# (metaspace 59 MB, 315 threads and their stacks, code cache, direct buffers of Netty and Vert.x). At 75 % of 1 GiB
# (768 MB heap) a full heap plus that passes the limit, and the kernel OOM-kills the container before the JVM ever
# sees heap pressure.
# ExitOnOutOfMemoryError: a heap that does run out ends the process, so the kubelet restarts the pod (nothing is
# lost: unsettled messages are redelivered). Temp files in /tmp (an emptyDir; the root filesystem is read-only).
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp"

# runtime dependencies in their own layer (changes rarely), before the thin jar (changes on every build);
# the jar's manifest Class-Path points at lib/
COPY --from=build /build/service/target/lib/ /app/lib/
COPY --from=build /build/service/target/dataverse-sync.jar /app/dataverse-sync.jar

# /config/routes: mount a folder of *.camel.yaml (+ transport/, mappings/*.jsonata) here and set
# SYNC_ROUTES_LOCATION=file:/config/routes to change routes and mappings without rebuilding the image.
# Other settings are environment variables (sync.queue.outbound -> SYNC_QUEUE_OUTBOUND, ...).
# /app/data: the local embedded broker's journal (data/artemis, default profile only); nothing is written
# there in the azure profile.

USER 10001:10001
# camel.server.port: every HTTP endpoint of the service, health (/observe/health/live, /observe/health/ready) and
# metrics (/observe/metrics)
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/dataverse-sync.jar"]
