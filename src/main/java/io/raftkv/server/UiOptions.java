package io.raftkv.server;

import java.net.URI;
import java.util.Optional;

/**
 * How a node serves the web view. {@code localControl}: the control server of the
 * {@code raftkv local} that started this node ({@code --local-control}); only then does the page
 * offer kill / restart / cut / heal, and only then can this node's peer network be cut.
 */
public record UiOptions(Optional<URI> localControl) {
    public static final UiOptions DEFAULT = new UiOptions(Optional.empty());

    public UiOptions {
        java.util.Objects.requireNonNull(localControl, "localControl");
    }
}
