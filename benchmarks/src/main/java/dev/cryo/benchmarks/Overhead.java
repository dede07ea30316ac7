package dev.cryo.benchmarks;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Resource;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The steady-state cost of having Cryo in the JVM: an ordinary workload (SHA-256 over 4 MB, then
 * sorting a copy of 512 Ki ints) with {@code cryo=false} (Cryo's classes never touched) and
 * {@code cryo=true} ({@link Checkpointer} initialized, a few resources and a random generator
 * registered, no checkpoint taken). Each value runs in its own forks; the two scores should
 * differ by no more than their error.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 3, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class Overhead {
    @Param({"false", "true"})
    public boolean cryo;

    byte[] data;
    int[] numbers;
    Random random;

    @Setup(Level.Trial)
    public void prepare() {
        Random seeded = new Random(42);
        data = new byte[4 << 20];
        seeded.nextBytes(data);
        numbers = seeded.ints(512 << 10).toArray();
        random = new Random(7);
        if (cryo) {
            for (int i = 0; i < 4; i++) {
                int n = i;
                Checkpointer.register(new Resource() {
                    @Override
                    public void beforeCheckpoint() {}

                    @Override
                    public void afterRestore(CheckpointOutcome outcome) {
                        if (n < 0) {
                            throw new IllegalStateException();
                        }
                    }
                });
            }
            random = Checkpointer.reseeded(random);
        }
    }

    @Benchmark
    public void workload(Blackhole bh) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        bh.consume(sha.digest(data));
        int[] copy = Arrays.copyOf(numbers, numbers.length);
        copy[random.nextInt(copy.length)] = random.nextInt();
        Arrays.sort(copy);
        bh.consume(copy[copy.length / 2]);
    }
}
