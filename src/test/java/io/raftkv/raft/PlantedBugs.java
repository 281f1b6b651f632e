package io.raftkv.raft;

/**
 * Plants known bugs in a {@link RaftNode} for tests that prove a checker has teeth. Test code
 * only: production never sets these hooks.
 */
public final class PlantedBugs {
    private PlantedBugs() {}

    /** The leader commits an older term's entry once a majority holds it (Raft §5.4.2, Figure 8). */
    public static void commitOldTermEntriesByCounting(RaftNode node) {
        node.plantedFigure8Bug = true;
    }
}
