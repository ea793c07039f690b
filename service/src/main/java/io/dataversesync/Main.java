package io.dataversesync;

/** Starts the service as a standalone Camel Main application; everything else is configuration and routes. */
public final class Main {
    public static void main(String... args) throws Exception {
        new org.apache.camel.main.Main(Main.class).run(args);
    }
}
