package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restores onto a machine whose GPUs or NVIDIA driver differ from those at checkpoint. CI has no
 * GPU, so the driver's listing comes from a directory in the driver's own /proc layout
 * (CRYO_NVIDIA_PROC), changed between checkpoint and restore; the checkpoints and restores are real.
 */
@DisplayName("Device queries and the runtime key")
class DevicesEndToEndTest {
    private static final String H100 = "NVIDIA H100 80GB HBM3";
    private static final String UUID_A = "GPU-341a9345-4265-f847-9deb-7ae559817e0a";
    private static final String UUID_B = "GPU-9c2a17d0-5e1b-4b7e-8f3a-0d6c1e2b3a4f";

    @TempDir
    Path dir;
    Path proc;
    Path store;
    Map<String, String> env;

    @BeforeEach
    void machine() throws IOException {
        proc = dir.resolve("nvidia");
        store = dir.resolve("store");
        env = Map.of("CRYO_NVIDIA_PROC", proc.toString());
        driver("570.86.10");
        gpu("0000:00:06.0", H100, UUID_A);
    }

    private void driver(String version) throws IOException {
        Files.createDirectories(proc);
        Files.writeString(proc.resolve("version"), "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  " + version
                + "  Release Build  (dvs-builder@U16-A24-23-2)  Thu Sep 18 23:00:00 UTC 2025\n"
                + "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14+deb12u1)\n");
    }

    private void gpu(String bus, String model, String uuid) throws IOException {
        Path d = Files.createDirectories(proc.resolve("gpus").resolve(bus));
        Files.writeString(d.resolve("information"), "Model: \t\t " + model + "\nIRQ:   \t\t 0\nGPU UUID: \t " + uuid
                + "\nVideo BIOS: \t 96.00.99.00.01\nBus Type: \t PCIe\nBus Location: \t " + bus + "\n");
    }

    private Result start(String name) throws Exception {
        return ChildJvm.run(launcher(store, List.of(), ChildJvm.java("dev.cryo.testapp.DeviceApp")), dir, name, env);
    }

    @Test
    @DisplayName("after a restore onto more GPUs, Cryo's GPU list and the app's DeviceCache hold the new ones, first")
    void deviceListRefreshedFirst() throws Exception {
        Result first = start("first");
        assertEquals(0, first.exit(), first::toString);
        assertEquals("GPUS at-start n=1 [0:" + H100 + ":" + UUID_A + "]", first.line("GPUS at-start"));
        assertFalse(first.has("OUTCOME"), "it exits after the checkpoint");
        assertEquals(1, images(store).size(), first::toString);

        gpu("0000:00:07.0", H100, UUID_B); // the restore machine has a second GPU of the same model
        Result restored = start("restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.err().contains("CRYO RESTORED"), restored::toString);
        List<String> order = restored.out().lines()
                .filter(l -> l.startsWith("DEVICE-CACHE") || l.startsWith("RESOURCE")).toList();
        assertEquals(List.of("DEVICE-CACHE refreshed n=2 [0:" + H100 + ":" + UUID_A + ", 1:" + H100 + ":" + UUID_B + "]",
                "RESOURCE sees cached n=2"), order, "the cache is refreshed before any resource runs");
        assertTrue(restored.line("GPUS now").startsWith("GPUS now n=2"), restored::toString);
        assertTrue(restored.err().contains("The GPUs differ from those at checkpoint"), restored::toString);
    }

    @Test
    @DisplayName("another NVIDIA driver or GPU model: starts cold and says why; images per runtime live side by side")
    void runtimeKeyCoversDriverAndModel() throws Exception {
        Result first = start("first");
        assertEquals(0, first.exit(), first::toString);
        String image570 = images(store).get(0).getFileName().toString().substring("img-".length());

        driver("580.95.05");
        Result other = start("driver580");
        assertEquals(0, other.exit(), other::toString);
        assertTrue(other.err().contains("it was made with NVIDIA driver 570.86.10, this machine has 580.95.05"),
                other::toString);
        assertFalse(other.err().contains("CRYO RESTORED"), other::toString);
        assertEquals(2, images(store).size(), "the cold start wrote an image for driver 580 beside the first");

        driver("570.86.10");
        Result back = start("back570");
        assertTrue(back.err().contains("restored image " + image570), back::toString);
        assertTrue(back.err().contains("CRYO RESTORED from checkpoint image " + image570), back::toString);

        driver("580.95.05");
        Result again = start("again580");
        assertTrue(again.err().contains("CRYO RESTORED"), again::toString);
        assertFalse(again.err().contains("CRYO RESTORED from checkpoint image " + image570), "the 580 image");

        Files.writeString(proc.resolve("gpus/0000:00:06.0/information"),
                Files.readString(proc.resolve("gpus/0000:00:06.0/information")).replace(H100, "NVIDIA A100-SXM4-80GB"));
        Result a100 = start("a100");
        assertTrue(a100.err().contains("it was made on GPUs of model " + H100 + ", this machine has NVIDIA A100-SXM4-80GB"),
                a100::toString);
        assertFalse(a100.err().contains("CRYO RESTORED"), a100::toString);
    }
}
