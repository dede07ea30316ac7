package dev.cryo.testapp;

import dev.cryo.Checkpointer;
import java.security.SecureRandom;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Prints, after its checkpoint, one value from each kind of random generator it made before. */
public final class UniquenessApp {
    public static void main(String[] args) throws Exception {
        Random registered = Checkpointer.reseeded(new Random(42));
        SecureRandom registeredSecure = Checkpointer.reseeded(SecureRandom.getInstance("SHA1PRNG"));
        registeredSecure.setSeed(42); // a deterministic SHA1PRNG: repeats unless reseeded
        Random unregistered = new Random(42);
        ThreadLocalRandom.current().nextLong();
        Checkpointer.checkpointNow();
        System.out.println("VALUE registered " + registered.nextLong());
        System.out.println("VALUE registeredSecure " + registeredSecure.nextLong());
        System.out.println("VALUE uuid " + UUID.randomUUID());
        System.out.println("VALUE unregistered " + unregistered.nextLong());
        System.out.println("VALUE threadLocal " + ThreadLocalRandom.current().nextLong());
    }
}
