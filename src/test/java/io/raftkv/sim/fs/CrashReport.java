package io.raftkv.sim.fs;

/**
 * What one simulated power loss took away.
 *
 * @param filesLosingWrites files that lost some of their unforced writes or truncations
 * @param tornWrites        writes of which only a prefix reached the disk (at most one per file)
 * @param foldersLosingEntries folders whose unforced creates, renames or deletes were undone
 */
public record CrashReport(int filesLosingWrites, int tornWrites, int foldersLosingEntries) {
    /** Whether anything that was written but not forced was lost. */
    public boolean lostData() {
        return filesLosingWrites > 0 || foldersLosingEntries > 0;
    }
}
