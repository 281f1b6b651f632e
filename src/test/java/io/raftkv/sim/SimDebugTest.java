package io.raftkv.sim;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.EnumSet;

class SimDebugTest {
    @Test
    void scan() {
        String bug = System.getProperty("dbg.scan");
        if (bug == null) return;
        for (long seed = 0; seed < 1000; seed++) {
            long before = SimServer.DANGER.get();
            SimConfig c = SimConfig.forSeed(seed).with(b -> {
                b.bugs = EnumSet.of(PlantedBug.valueOf(bug));
                b.checkSendContract = false;
                b.nodes = 5; b.maxEntriesPerAppend = 1; b.maxInflightAppends = 1; b.crashNewLeaderRate = 0.5; b.faultPhaseMs = 10_000; b.clientsStopMs = 11_000; b.settleLimitMs = 25_000;
            });
            Simulation.run(c);
            if (SimServer.DANGER.get() > before) System.out.println("danger seed " + seed);
        }
    }

    @Test
    void debug() {
        if (System.getProperty("dbg.scan") != null) return;
        long seed = Long.getLong("dbg.seed", 0);
        String bug = System.getProperty("dbg.bug");
        SimConfig c = SimConfig.forSeed(seed).with(b -> {
            if (bug != null) {
                b.bugs = EnumSet.of(PlantedBug.valueOf(bug));
                b.checkSendContract = false;
                if (bug.equals("COMMIT_OLD_TERM_BY_COUNTING")) {
                    b.nodes = 5; b.maxEntriesPerAppend = 1; b.maxInflightAppends = 1; b.crashNewLeaderRate = 0.5; b.faultPhaseMs = 10_000; b.clientsStopMs = 11_000; b.settleLimitMs = 25_000;
                }
            }
        });
        SimResult r = Simulation.runTraced(c, Path.of("/tmp/simdebug/seed-" + seed + ".log"));
        System.out.println(ClusterSimulationSeedsTest.summary(java.util.List.of(r), 0));
        System.out.println(r.failure());
    }
}
