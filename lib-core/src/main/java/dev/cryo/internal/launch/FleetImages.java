package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.ImageFit;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.RemoteImages;
import dev.cryo.internal.RuntimeKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The launcher's side of a remote image store ({@code --image s3://...}): before a start it
 * fetches the newest fitting published image into the local cache, where the restore then finds
 * it; on a cold start it claims the publication for this build and runtime and, while the app
 * runs, uploads the image the app commits into the cache. The upload runs in the launcher, not in
 * the app, so the checkpointing process is not slowed by it; the launcher waits for it to finish
 * before it exits. A store that cannot be reached is one line, and the app starts as without it.
 */
final class FleetImages implements AutoCloseable {
    private static final long POLL_MS = 200;

    private final RemoteImages remote;
    private final Console console;
    private Thread publisher;
    private volatile boolean appExited;

    private FleetImages(RemoteImages remote, Console console) {
        this.remote = remote;
        this.console = console;
    }

    /** The local directory the launcher and the app use for {@code location}: itself, or a remote store's cache. */
    static Path localStore(Path location) {
        String s = location.toString();
        return RemoteImages.isRemote(s) ? RemoteImages.cacheDirectory(RemoteImages.uri(s)) : location;
    }

    /** The remote store {@code location} names, or empty when it is local or cannot be reached (said in one line). */
    static Optional<FleetImages> open(Path location, Console console) {
        String s = location.toString();
        if (!RemoteImages.isRemote(s)) {
            return Optional.empty();
        }
        // The storage SDK logs through SLF4J, which has no provider in the launcher: no three-line notice.
        if (System.getProperty("slf4j.internal.verbosity") == null) {
            System.setProperty("slf4j.internal.verbosity", "ERROR");
        }
        try {
            return Optional.of(new FleetImages(RemoteImages.open(s), console));
        } catch (IOException | RuntimeException e) {
            console.error("cannot use " + RemoteImages.uri(s) + ": " + e.getMessage() + "; using only the local cache "
                    + RemoteImages.cacheDirectory(RemoteImages.uri(s)));
            return Optional.empty();
        }
    }

    String uri() {
        return remote.uri();
    }

    /** A build on a runtime: one node publishes one image for it. */
    static String claimKey(BuildKey.Parts build) {
        RuntimeKey r = RuntimeKey.current();
        String runtime = String.join("\n", r.cpu(), r.cpuFlags(), r.kernel(), r.nvidiaDriver(), r.gpuModels());
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(runtime.getBytes(StandardCharsets.UTF_8));
            return build.key() + "-" + HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Fetches into the cache the newest published image that fits and is newer than any fitting
     * image already cached; says why others do not fit, and which could not be fetched (a damaged
     * one is refused and the next older one tried). True when a fitting image is in the cache now.
     */
    boolean fetchFitting(ImageFit fit) {
        List<RemoteImages.Manifest> manifests;
        try {
            manifests = remote.manifests();
        } catch (IOException | RuntimeException e) {
            console.error("cannot list the images in " + remote.uri() + ": " + e.getMessage());
            return false;
        }
        ImageStore cache = remote.cache();
        Optional<ImageStore.Image> cached = fit.newestFitting(cache.images());
        for (RemoteImages.Manifest m : manifests) {
            if (cached.isPresent() && cached.get().id().compareTo(m.id()) >= 0) {
                console.say("image " + cached.get().id() + " in the cache " + cache.root() + " fits");
                return true; // the cache holds this one, or a newer one that fits
            }
            Optional<String> misfit = fit.misfit(m.metadata());
            if (misfit.isPresent()) {
                console.say("published image " + m.id() + " " + misfit.get());
                continue;
            }
            long start = System.nanoTime();
            try {
                remote.fetch(m);
            } catch (IOException | RuntimeException e) {
                console.say("cannot use published image " + m.id() + " from " + remote.uri() + ": " + e.getMessage());
                continue;
            }
            long ms = Math.max(1, (System.nanoTime() - start) / 1_000_000);
            console.say(String.format(Locale.ROOT, "fetched image %s from %s: %.1f MB in %d ms (%.0f MB/s), SHA-256 checked",
                    m.id(), remote.uri(), m.bytes() / 1e6, ms, m.bytes() / 1e3 / ms));
            return true;
        }
        if (cached.isPresent()) {
            console.say("image " + cached.get().id() + " in the cache " + cache.root() + " fits");
            return true;
        }
        console.say("no published image in " + remote.uri() + " fits");
        return false;
    }

    /** Claims the publication of {@code claimKey}; empty when this node holds it, else why the app's checkpoint is skipped. */
    Optional<String> claim(String claimKey) {
        try {
            return remote.claim(claimKey).map(holder -> holder + " publishes the image of this build and runtime to "
                    + remote.uri() + "; this node restores it from there");
        } catch (IOException | RuntimeException e) {
            return Optional.of("the publication to " + remote.uri() + " cannot be claimed: " + e.getMessage());
        }
    }

    /** Watches the cache, while the app runs, for the image the app commits, and publishes it. */
    void publishWhenCommitted(String claimKey) {
        Set<String> before = remote.cache().images().stream().map(ImageStore.Image::id).collect(Collectors.toSet());
        publisher = Thread.ofPlatform().name("cryo-publish").daemon(false).start(() -> {
            while (true) {
                boolean last = appExited;
                Optional<ImageStore.Image> made = remote.cache().images().stream()
                        .filter(i -> !before.contains(i.id()) && i.defect().isEmpty()).findFirst();
                if (made.isPresent()) {
                    publish(made.get(), claimKey);
                    return;
                }
                if (last) {
                    release(claimKey);
                    return;
                }
                try {
                    Thread.sleep(POLL_MS);
                } catch (InterruptedException e) {
                    appExited = true;
                }
            }
        });
    }

    private void publish(ImageStore.Image image, String claimKey) {
        long start = System.nanoTime();
        try {
            RemoteImages.Manifest m = remote.publish(image.dir(), claimKey);
            long ms = Math.max(1, (System.nanoTime() - start) / 1_000_000);
            console.say(String.format(Locale.ROOT, "published image %s to %s: %.1f MB in %d ms (%.0f MB/s)", m.id(),
                    remote.uri(), m.bytes() / 1e6, ms, m.bytes() / 1e3 / ms));
        } catch (IOException | RuntimeException e) {
            console.error("cannot publish image " + image.id() + " to " + remote.uri() + ": " + e.getMessage()
                    + "; it stays in the local cache " + remote.cache().root() + " and no other node uses it");
            release(claimKey);
        }
    }

    private void release(String claimKey) {
        try {
            remote.release(claimKey);
        } catch (IOException | RuntimeException e) {
            // an unreleased claim expires (see the store's claim timeout)
        }
    }

    /** After the app exited: lets a publication that began finish (or notices an image committed last). */
    void awaitPublished() {
        appExited = true;
        if (publisher != null) {
            while (true) {
                try {
                    publisher.join();
                    return;
                } catch (InterruptedException e) {
                    // a signal to the launcher: the upload still ends cleanly
                }
            }
        }
    }

    @Override
    public void close() {
        remote.close();
    }

}
