package io.raftkv.server;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Client requests per second and their p99 over the last {@link #WINDOW_NS}, for the web view,
 * read from the request timers {@link NodeMetrics} already keeps: nothing is added to the hot
 * path. The timers' counts and histogram buckets are cumulative, so two samples a window apart
 * give the window's requests and their latency histogram; the p99 is the upper bound of the bucket
 * the 99th percentile falls in (the metrics' buckets: 0.25, 0.5, 1, 2, 5, 10, 25 ms ...).
 */
final class RequestRate {
    static final long WINDOW_NS = TimeUnit.SECONDS.toNanos(2);
    private static final long MIN_SAMPLE_GAP_NS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Requests and p99 (empty: no request in the window) over {@code seconds}. */
    record Rate(double perSecond, OptionalDouble p99Ms, double seconds) {
        static final Rate NONE = new Rate(0, OptionalDouble.empty(), 0);
    }

    private record Sample(long nanos, long count, double[] boundsMs, long[] cumulative) {}

    private final Supplier<List<Timer>> timers;
    private final List<Sample> samples = new ArrayList<>();

    RequestRate(Supplier<List<Timer>> timers) {
        this.timers = timers;
    }

    /** Takes a sample (at most one per 100 ms) and answers the rate since the oldest sample in the window. */
    synchronized Rate sample(long nowNs) {
        if (samples.isEmpty() || nowNs - samples.getLast().nanos() >= MIN_SAMPLE_GAP_NS) samples.addLast(take(nowNs));
        while (samples.size() > 2 && nowNs - samples.get(1).nanos() >= WINDOW_NS) samples.removeFirst();
        return between(samples.getFirst(), samples.getLast());
    }

    private Sample take(long nowNs) {
        long count = 0;
        double[] bounds = null;
        long[] cumulative = null;
        for (Timer t : timers.get()) {
            HistogramSnapshot h = t.takeSnapshot();
            count += h.count();
            CountAtBucket[] buckets = h.histogramCounts();
            if (bounds == null) {
                bounds = new double[buckets.length];
                cumulative = new long[buckets.length];
                for (int i = 0; i < buckets.length; i++) bounds[i] = buckets[i].bucket(TimeUnit.MILLISECONDS);
            }
            for (int i = 0; i < Math.min(buckets.length, cumulative.length); i++) cumulative[i] += (long) buckets[i].count();
        }
        return new Sample(nowNs, count, bounds == null ? new double[0] : bounds, cumulative == null ? new long[0] : cumulative);
    }

    static Rate between(Sample from, Sample to) {
        double seconds = (to.nanos() - from.nanos()) / 1e9;
        long requests = to.count() - from.count();
        if (seconds <= 0 || requests <= 0) return new Rate(0, OptionalDouble.empty(), seconds);
        OptionalDouble p99 = OptionalDouble.empty();
        double rank = Math.ceil(0.99 * requests);
        for (int i = 0; i < to.boundsMs().length; i++) {
            long below = to.cumulative()[i] - (i < from.cumulative().length ? from.cumulative()[i] : 0);
            if (below >= rank) {
                p99 = OptionalDouble.of(to.boundsMs()[i]);
                break;
            }
        }
        // Beyond the largest bucket: say so with infinity rather than a number that is too small.
        if (p99.isEmpty()) p99 = OptionalDouble.of(Double.POSITIVE_INFINITY);
        return new Rate(requests / seconds, p99, seconds);
    }
}
