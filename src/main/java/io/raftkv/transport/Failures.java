package io.raftkv.transport;

/** Netty and socket failures arrive wrapped; log lines and client errors name the root cause. */
public final class Failures {
    private Failures() {}

    /** The innermost cause's message, or its class name when it has none. */
    public static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
