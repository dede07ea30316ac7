package dev.cryo.samples.micronaut;

import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.inject.Singleton;
import java.util.UUID;

/**
 * A Micronaut web app (Netty) checkpointed through org.crac, which Cryo serves: once the server
 * has started it calls {@code org.crac.Core.checkpointRestore()} on a fresh thread; Micronaut's
 * CRaC support (micronaut-crac) stops its Netty server before the dump and starts it after.
 * {@code GET /hello?name=X} answers {@code hello X from pid=P token=T restored=B}.
 */
@Controller
public class HelloApp {
    static final String TOKEN = UUID.randomUUID().toString();
    static volatile boolean restored;

    static {
        // A resource of the app's own: Cryo tells it whether this process is a restored copy.
        dev.cryo.Checkpointer.register(new dev.cryo.Resource() {
            @Override
            public void beforeCheckpoint() {}

            @Override
            public void afterRestore(dev.cryo.CheckpointOutcome outcome) {
                restored = outcome.isRestored();
            }
        });
    }

    public static void main(String[] args) {
        Micronaut.run(HelloApp.class, args);
    }

    @Get("/hello")
    @Produces(MediaType.TEXT_PLAIN)
    public String hello(@QueryValue(defaultValue = "world") String name) {
        return "hello " + name + " from pid=" + ProcessHandle.current().pid() + " token=" + TOKEN + " restored=" + restored;
    }

    /** Checkpoints once, after the first start of the server. */
    @Singleton
    static final class CheckpointOnStartup implements ApplicationEventListener<ServerStartupEvent> {
        private volatile boolean done;

        @Override
        public void onApplicationEvent(ServerStartupEvent event) {
            System.out.println("READY port=" + event.getSource().getPort() + " pid=" + ProcessHandle.current().pid()
                    + " token=" + TOKEN);
            if (done) {
                return; // the restart after a checkpoint or restore
            }
            done = true;
            new Thread(() -> {
                try {
                    org.crac.Core.checkpointRestore();
                    System.out.println("CHECKPOINT DONE restored=" + restored);
                } catch (Exception e) {
                    System.out.println("CHECKPOINT FAILED " + e);
                    e.printStackTrace();
                }
            }, "checkpoint").start();
        }
    }
}
