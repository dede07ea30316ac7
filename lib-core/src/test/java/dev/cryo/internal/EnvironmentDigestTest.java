package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EnvironmentDigestTest {
    private static final List<String> DEFAULTS = EnvironmentDigest.DEFAULT_IGNORED;

    private static EnvironmentDigest of(Map<String, String> env, String... extra) {
        List<String> ignored = new ArrayList<>(DEFAULTS);
        ignored.addAll(List.of(extra));
        return EnvironmentDigest.of(env, ignored);
    }

    @Test
    @DisplayName("per-start variables and Cryo's own are left out; values are kept only as digests")
    void leftOut() {
        EnvironmentDigest d = of(Map.of("PWD", "/a", "SHLVL", "2", "SSH_CONNECTION", "x", "XDG_SESSION_ID", "3",
                "CRYO_BUILD_KEY", "k", "CRYO_ENV_IGNORE", "FOO", "TERM", "xterm", "APP_TOKEN", "s3cret", "HOME", "/root"));
        assertEquals(List.of("APP_TOKEN", "HOME"), List.copyOf(d.digests().keySet()));
        assertEquals(16, d.digests().get("APP_TOKEN").length());
        assertFalse(d.digests().containsValue("s3cret"));
        assertTrue(of(Map.of("PWD", "/b", "SHLVL", "5", "HOME", "/root", "APP_TOKEN", "s3cret")).misfit(d.digests()).isEmpty(),
                "what differs per start does not count");
    }

    @Test
    @DisplayName("the reason names what changed, was added and was removed, never a value")
    void reasons() {
        Map<String, String> then = of(Map.of("FOO", "1", "GONE", "x", "SAME", "s")).digests();
        Optional<String> why = of(Map.of("FOO", "2", "BAR", "new", "SAME", "s")).misfit(then);
        assertEquals("FOO changed, GONE removed, BAR added", why.orElseThrow());
        assertFalse(why.get().contains("new"));
    }

    @Test
    @DisplayName("CRYO_ENV_IGNORE's names and PREFIX* leave variables out of both sides")
    void userIgnoreList() {
        Map<String, String> then = of(Map.of("FOO", "1", "BUILD_NO", "7", "KEEP", "k")).digests();
        EnvironmentDigest now = of(Map.of("FOO", "2", "BUILD_ID", "8", "KEEP", "k"), "FOO", "BUILD_*");
        assertTrue(now.misfit(then).isEmpty(), () -> now.misfit(then).toString());
        assertEquals("KEEP changed", of(Map.of("KEEP", "other"), "FOO", "BUILD_*").misfit(then).orElseThrow());
        assertTrue(EnvironmentDigest.covered("BUILD_", List.of("BUILD_*")));
        assertFalse(EnvironmentDigest.covered("FOOD", List.of("FOO")));
    }

    @Test
    @DisplayName("JDK_JAVA_OPTIONS counts without the options the launcher appends")
    void launcherOptions() {
        String opens = JdkGenerators.javaOptions(List.of());
        String modular = JdkGenerators.javaOptions(List.of("-p", "mods"));
        assertEquals(of(Map.of()).digests(), of(Map.of("JDK_JAVA_OPTIONS", opens)).digests());
        assertEquals(of(Map.of("JDK_JAVA_OPTIONS", "-Xmx1g")).digests(),
                of(Map.of("JDK_JAVA_OPTIONS", "-Xmx1g " + modular)).digests());
        assertEquals("JDK_JAVA_OPTIONS changed", of(Map.of("JDK_JAVA_OPTIONS", "-Xmx2g " + opens))
                .misfit(of(Map.of("JDK_JAVA_OPTIONS", "-Xmx1g")).digests()).orElseThrow());
    }

    @Test
    @DisplayName("a long list of differences is cut after 8 names")
    void manyDifferences() {
        Map<String, String> now = new java.util.HashMap<>();
        for (int i = 0; i < 12; i++) {
            now.put("V" + (char) ('A' + i), "x");
        }
        assertTrue(of(now).misfit(Map.of()).orElseThrow().endsWith(" and 4 more"));
    }
}
