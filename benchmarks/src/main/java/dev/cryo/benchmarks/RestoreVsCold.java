package dev.cryo.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * Start-up to the first answer, cold versus restored, for each sample app: {@link #cold} starts
 * the app plainly ({@code --no-checkpoint}, no Cryo involved), {@link #restore} starts
 * {@code bin/cryo run --image DIR -- app} on an image written in the trial's setup. The clock
 * starts just before the process is started and stops when its first-answer line
 * ({@code CRYO-TIME first_answer_epoch_ms=}) is read from its stdout; each invocation's processes
 * are waited for, outside the clock, so that the restored PID is free for the next one.
 *
 * <p>{@code restore} also runs with {@code gc=false} (an image taken with
 * {@code -Dcryo.noGc=true}, no GC before the dump) for the before/after comparison of the
 * GC step; the launcher's own restore time of each invocation goes to {@code restores.csv} in
 * {@code $CRYO_BENCH_OUT}.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 2, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 1)
@Measurement(iterations = 5)
public class RestoreVsCold {

    /** A plain cold start of one app. */
    @State(Scope.Benchmark)
    public static class Cold {
        @Param({"SlowStartService", "HeavyStartService"})
        public String app;

        AppRun run;

        @TearDown(Level.Invocation)
        public void finish() throws Exception {
            if (run != null) {
                String out = run.finish();
                run = null;
                if (out.contains("cryo: restored image")) {
                    throw new IllegalStateException("a cold start was restored:\n" + out);
                }
            }
        }
    }

    /** An image of one app, written once per trial, restored by every invocation. */
    @State(Scope.Benchmark)
    public static class Image {
        @Param({"SlowStartService", "HeavyStartService"})
        public String app;

        /** Whether the image was taken with the GC step (the default) or with -Dcryo.noGc=true. */
        @Param({"true", "false"})
        public boolean gc;

        Path images;
        List<String> command;
        Map<String, String> image;
        AppRun run;

        @Setup(Level.Trial)
        public void prepare() throws Exception {
            images = Files.createTempDirectory("cryo-bench-restore-");
            command = AppRun.app(app, AppRun.gcOptions(gc));
            image = AppRun.checkpointInto(images, command);
        }

        @TearDown(Level.Invocation)
        public void finish() throws Exception {
            if (run == null) {
                return;
            }
            String out = run.finish();
            run = null;
            AppRun.awaitRestoredGone(out);
            long launcherMs = AppRun.launcherRestoreMillis(out);
            if (launcherMs < 0 || !out.contains("RESTORED")) {
                AppRun.appendCsv("failures.log", "# RestoreVsCold invocations that did not restore",
                        "== " + app + " gc=" + gc + "\n" + out);
                throw new IllegalStateException("not restored:\n" + out);
            }
            AppRun.appendCsv("restores.csv", "app,gc,image_bytes,launcher_restore_ms",
                    app + "," + gc + "," + image.get("image.bytes") + "," + launcherMs);
        }

        @TearDown(Level.Trial)
        public void cleanUp() throws Exception {
            AppRun.deleteTree(images);
        }
    }

    @Benchmark
    public long cold(Cold c) throws Exception {
        c.run = AppRun.start(AppRun.app(c.app, List.of(), "--no-checkpoint"));
        return c.run.awaitFirstAnswer();
    }

    @Benchmark
    public long restore(Image i) throws Exception {
        i.run = AppRun.start(AppRun.underCryo(i.images, i.command));
        return i.run.awaitFirstAnswer();
    }
}
