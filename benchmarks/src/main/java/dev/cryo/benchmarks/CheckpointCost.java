package dev.cryo.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of the checkpointing start: {@code bin/cryo run} into an empty image directory, so
 * that the app starts cold, builds, checkpoints itself and then answers; timed from the process
 * start to the first-answer line (compare with {@link RestoreVsCold#cold}, the same start without
 * the checkpoint). With and without the GC step before the dump ({@code gc=false}:
 * {@code -Dcryo.noGc=true}).
 *
 * <p>After each invocation the image's {@code cryo-image.properties} is read: its size, resident
 * memory, per-step times ({@code step.<name>.millis}) and the whole checkpoint's time (its log
 * line) go to {@code images.csv} in
 * {@code $CRYO_BENCH_OUT}, one row per image; then the image is deleted.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 0)
@Measurement(iterations = 3)
@State(Scope.Benchmark)
public class CheckpointCost {
    static final String HEADER = "app,gc,image_bytes,resident_bytes,checkpoint_ms,dump_ms,steps";
    private static final Pattern WRITTEN = Pattern.compile("Checkpoint image \\S+ written to .* in (\\d+) ms");

    @Param({"SlowStartService", "HeavyStartService"})
    public String app;

    @Param({"true", "false"})
    public boolean gc;

    Path images;
    AppRun run;

    @Setup(Level.Invocation)
    public void freshDirectory() throws Exception {
        images = Files.createTempDirectory("cryo-bench-checkpoint-");
    }

    @Benchmark
    public long checkpointStart() throws Exception {
        run = AppRun.start(AppRun.underCryo(images, AppRun.app(app, AppRun.gcOptions(gc))));
        return run.awaitFirstAnswer();
    }

    @TearDown(Level.Invocation)
    public void record() throws Exception {
        try {
            if (run != null) {
                String out = run.finish();
                if (!out.contains("Checkpoint image ")) {
                    throw new IllegalStateException("no image written:\n" + out);
                }
                Matcher m = WRITTEN.matcher(out);
                String checkpointMs = m.find() ? m.group(1) : "";
                AppRun.appendCsv("images.csv", HEADER, row(app, gc, checkpointMs, AppRun.newestImage(images)));
            }
        } finally {
            run = null;
            AppRun.deleteTree(images);
        }
    }

    /**
     * One images.csv row: {@code checkpointMs} from the log line {@code Checkpoint image <id> written
     * to <path>: <size> in <ms> ms}, steps as {@code name=ms;name=ms} sorted by name.
     */
    static String row(String app, boolean gc, String checkpointMs, Map<String, String> image) {
        StringJoiner steps = new StringJoiner(";");
        image.forEach((k, v) -> {
            if (k.startsWith("step.") && k.endsWith(".millis")) {
                steps.add(k.substring(5, k.length() - 7) + "=" + v);
            }
        });
        return String.join(",", app, Boolean.toString(gc), image.getOrDefault("image.bytes", ""),
                image.getOrDefault("resident.bytes", ""), checkpointMs, image.getOrDefault("dump.millis", ""),
                steps.toString());
    }
}
