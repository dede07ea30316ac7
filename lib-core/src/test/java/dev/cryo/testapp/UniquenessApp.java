package dev.cryo.testapp;

import dev.cryo.Checkpointer;
import java.security.SecureRandom;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;

/** Prints, after its checkpoint, one value from each kind of random generator it used before. */
public final class UniquenessApp {
    public static void main(String[] args) throws Exception {
        Random registered = Checkpointer.reseeded(new Random(42));
        SecureRandom registeredSecure = Checkpointer.reseeded(SecureRandom.getInstance("SHA1PRNG"));
        registeredSecure.setSeed(42); // a deterministic SHA1PRNG: repeats unless reseeded
        Random unregistered = new Random(42);
        ThreadLocalRandom.current().nextLong();
        Math.random();
        StrictMath.random();
        new SplittableRandom().nextLong();
        // Another thread that drew from ThreadLocalRandom before the checkpoint and draws after it,
        // through the instance it got before.
        CountDownLatch drewBefore = new CountDownLatch(1);
        CountDownLatch checkpointed = new CountDownLatch(1);
        long[] otherThread = new long[1];
        Thread worker = new Thread(() -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            random.nextLong();
            drewBefore.countDown();
            try {
                checkpointed.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            otherThread[0] = random.nextLong();
        }, "worker");
        worker.start();
        drewBefore.await();
        Checkpointer.checkpointNow();
        checkpointed.countDown();
        worker.join();
        System.out.println("VALUE registered " + registered.nextLong());
        System.out.println("VALUE registeredSecure " + registeredSecure.nextLong());
        System.out.println("VALUE uuid " + UUID.randomUUID());
        System.out.println("VALUE unregistered " + unregistered.nextLong());
        System.out.println("VALUE threadLocal " + ThreadLocalRandom.current().nextLong());
        System.out.println("VALUE threadLocalOtherThread " + otherThread[0]);
        System.out.println("VALUE mathRandom " + Math.random());
        System.out.println("VALUE strictMathRandom " + StrictMath.random());
        System.out.println("VALUE splittable " + new SplittableRandom().nextLong());
    }
}
