package io.raftkv.chaos;

import io.raftkv.transport.HostPort;

import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/** The node processes of a cluster on this machine, as the nemesis acts on them. Thread-safe. */
public interface NodeProcesses {
    /** Node {@code i}'s address; the list's size is the cluster size. */
    List<HostPort> addresses();

    /** Where node {@code id}'s output goes. */
    Path log(int id);

    /** The pid of node {@code id}'s running process, or empty if it is not running. */
    OptionalLong pid(int id);

    /** {@code kill -9}: ends node {@code id}'s process and waits for it; returns its pid. */
    long kill9(int id);

    /** Starts node {@code id} again on its data folder; returns the new pid. */
    long start(int id);

    /** The TLS context clients of these nodes use, or null when they serve plain HTTP. */
    default javax.net.ssl.SSLContext clientTls() {
        return null;
    }
}
