package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the JDK's random generators")
class JdkGeneratorsTest {
    @Test
    @DisplayName("a class-path start gets the packages opened to the class path, a module-path start to dev.cryo too")
    void javaOptions() {
        assertEquals("--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED"
                + " --add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                JdkGenerators.javaOptions(List.of("java", "-cp", "app.jar", "com.example.Main")));
        assertEquals("--add-opens=java.base/java.lang=ALL-UNNAMED,dev.cryo"
                + " --add-opens=java.base/java.util=ALL-UNNAMED,dev.cryo"
                + " --add-opens=java.base/java.util.concurrent=ALL-UNNAMED,dev.cryo",
                JdkGenerators.javaOptions(List.of("java", "--module-path", "mods", "-m", "app/com.example.Main")));
    }

    @Test
    @DisplayName("where the packages are not open (this test JVM), nothing is reseeded and the options are named")
    void closedPackagesAreNamed() {
        JdkGenerators.NotReseeded left = JdkGenerators.reseed(new SecureRandom());
        assertEquals(List.of("ThreadLocalRandom", "Math.random()", "StrictMath.random()", "new SplittableRandom()"),
                left.generators());
        assertEquals(List.of("--add-opens java.base/java.lang=ALL-UNNAMED", "--add-opens java.base/java.util=ALL-UNNAMED",
                "--add-opens java.base/java.util.concurrent=ALL-UNNAMED"), left.options());
    }
}
