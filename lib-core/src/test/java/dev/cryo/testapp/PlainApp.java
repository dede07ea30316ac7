package dev.cryo.testapp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * An app that knows nothing of Cryo (checkpointed from outside by {@code cryo checkpoint PID} or
 * the agent's trigger): it draws a token and builds a table, says READY, and keeps counting until
 * {@code STOP_FILE} (its one argument) exists; then it prints its pid, token, table sum and count.
 */
public final class PlainApp {
    public static void main(String[] args) throws Exception {
        Path stop = Path.of(args[0]);
        String token = UUID.randomUUID().toString();
        long[] table = new long[1_000_000];
        long sum = 0;
        for (int i = 0; i < table.length; i++) {
            table[i] = (long) i * i ^ token.hashCode();
            sum += table[i];
        }
        long pid = ProcessHandle.current().pid();
        System.out.println("READY pid=" + pid + " token=" + token + " sum=" + sum);
        long ticks = 0;
        while (!Files.exists(stop)) {
            Thread.sleep(20);
            ticks++;
        }
        long again = 0;
        for (long v : table) {
            again += v;
        }
        System.out.println("BYE pid=" + pid + " token=" + token + " sum=" + again + " ticks=" + (ticks > 0));
    }
}
