package io.triptych.launcher.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Properties;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.ModelNotFoundException;
import io.triptych.api.UnsupportedOperatorException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/** The {@code triptych} command line. Exit codes: 0 success, 2 bad input (one line on stderr), 1 anything else. */
@Command(name = "triptych", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runs LLMs, diffusion and JEPA models on swappable compute backends in an OSGi host.",
        subcommands = {GenerateCommand.class, DenoiseCommand.class, PredictCommand.class, SoakCommand.class, ModelsCommand.class, BackendsCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: give one of " + spec.subcommands().keySet());
    }

    public static void main(String[] args) {
        // Before any logger exists: one-shot commands print their results on stdout and log only errors
        // (a listing already shows what failed); serve logs what it deploys. Both log to stderr.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", Arrays.asList(args).contains("serve") ? "info" : "error"));
        System.setProperty("org.slf4j.simpleLogger.logFile", System.getProperty("org.slf4j.simpleLogger.logFile", "System.err"));
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (for tests and integrators). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("triptych: " + ex.getMessage() + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parsed) -> {
            PrintWriter err = commandLine.getErr();
            if (isBadInput(ex)) {
                err.println("triptych: " + ex.getMessage());
                return 2;
            }
            err.println("triptych: internal error: " + ex);
            ex.printStackTrace(err);
            return 1;
        });
        return cl.execute(args);
    }

    static boolean isBadInput(Throwable ex) {
        return ex instanceof InvalidRequestException || ex instanceof ModelNotFoundException || ex instanceof ModelLoadException
                || ex instanceof UnsupportedOperatorException || ex instanceof BackendUnavailableException;
    }

    /** The version, from the build. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/io/triptych/launcher/version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"triptych " + p.getProperty("version", "unknown"),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
