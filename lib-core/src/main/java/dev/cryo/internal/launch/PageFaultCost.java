package dev.cryo.internal.launch;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What a first touch of a fresh 4 KiB page costs on this machine now: an eager restore pays it for
 * every page of the image (CRIU reads them into new memory), so it decides between eager and lazy
 * restore. On the development VMs it was 1.25-1.65 µs on some days and 10-27 µs on others (the VM's
 * host decides), a factor that no fixed default serves.
 *
 * <p>Measured the cheap way: a direct buffer is fresh memory from the C heap (above malloc's mmap
 * threshold, so new pages) that the JDK zeroes, one first touch per page. The least of a few samples
 * is taken, so that a sample the scheduler interrupted does not count; 256 pages in all, under 4 ms
 * where faults are dear. The buffers are left to the collector: the launcher's JVM ends or is
 * replaced soon after.
 */
final class PageFaultCost {
    private static final int PAGE = 4096;
    private static final int PAGES_PER_SAMPLE = 64;
    private static final int SAMPLES = 4;

    private PageFaultCost() {
    }

    /** Milliseconds the first touches of {@code bytes} of fresh memory would take here, by {@link #microsPerPage}. */
    static long millisFor(long bytes) {
        return Math.round(bytes / PAGE * microsPerPage() / 1000);
    }

    /** Microseconds per first touch of a fresh 4 KiB page, the least of {@value #SAMPLES} samples. */
    static double microsPerPage() {
        List<ByteBuffer> keep = new ArrayList<>(SAMPLES); // freed only after the last sample: no reuse
        long least = Long.MAX_VALUE;
        for (int i = 0; i < SAMPLES; i++) {
            long t = System.nanoTime();
            keep.add(ByteBuffer.allocateDirect(PAGES_PER_SAMPLE * PAGE));
            least = Math.min(least, System.nanoTime() - t);
        }
        keep.clear();
        return least / 1000.0 / PAGES_PER_SAMPLE;
    }
}
