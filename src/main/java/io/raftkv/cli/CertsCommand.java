package io.raftkv.cli;

import io.raftkv.security.DevCertificates;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code raftkv certs --out DIR --nodes N}: a development CA with a certificate per node and client
 * certificates, for TLS and mutual TLS between nodes and clients.
 */
@Command(name = "certs", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Creates a certificate authority and certificates for a development cluster (Bouncy Castle):",
                "  ca.pem, ca-key.pem                  the CA (keep ca-key.pem to yourself)",
                "  node-<id>.pem, node-<id>-key.pem    one per node, for serving clients and for mutual TLS between",
                "                                      nodes; valid for localhost, 127.0.0.1, ::1 and every --host",
                "  client-<user>.pem, -key.pem         one per --client user: a client certificate whose common name",
                "                                      is the user",
                "Keys are ECDSA P-256 (PKCS#8 PEM, readable by the owner only). Existing files are not overwritten",
                "without --force. For development and tests; production clusters use their own CA.",
                "Exit code 0 when written, 1 if files exist or cannot be written, 2 for bad flags."})
final class CertsCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write them in (created if missing).")
    Path out;

    @Option(names = "--nodes", defaultValue = "3", paramLabel = "N",
            description = "Node certificates node-0 .. node-(N-1), 1 to 99 (default: ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--host", paramLabel = "NAME_OR_IP", split = ",",
            description = "Another host name or IP address every node certificate is valid for (repeatable, or comma-separated).")
    List<String> hosts = new ArrayList<>();

    @Option(names = "--client", paramLabel = "USER", split = ",", defaultValue = "root",
            description = "Client certificates to make, by user name (default: ${DEFAULT-VALUE}).")
    List<String> clients = new ArrayList<>();

    @Option(names = "--days", defaultValue = "365", description = "Validity in days, 1 to 3650 (default: ${DEFAULT-VALUE}).")
    int days;

    @Option(names = "--force", description = "Overwrite certificates and keys already in --out.")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        if (nodes < 1 || nodes > 99) throw new CommandLine.ParameterException(cl, "--nodes must be 1 to 99, got " + nodes);
        if (days < 1 || days > 3650) throw new CommandLine.ParameterException(cl, "--days must be 1 to 3650, got " + days);
        for (String h : hosts)
            if (h.isBlank() || h.chars().anyMatch(Character::isWhitespace))
                throw new CommandLine.ParameterException(cl, "--host needs a host name or IP address, got '" + h + "'");
        for (String u : clients)
            if (!u.matches("[A-Za-z0-9._-]{1,64}"))
                throw new CommandLine.ParameterException(cl, "--client needs a user name of letters, digits, '.', '_' or '-'"
                        + " (1 to 64), got '" + u + "'");
        Duration validity = Duration.ofDays(days);
        List<Path> written = new ArrayList<>();
        try {
            Files.createDirectories(out);
            if (!force) {
                // refuse before writing anything: a half-replaced set would not fit together
                List<String> names = new ArrayList<>(List.of("ca"));
                for (int i = 0; i < nodes; i++) names.add("node-" + i);
                for (String u : clients) names.add("client-" + u);
                for (String n : names)
                    for (Path p : List.of(out.resolve(n + ".pem"), out.resolve(n + "-key.pem")))
                        if (Files.exists(p)) throw new FileAlreadyExistsException(p.toString());
            }
            DevCertificates.Issued ca = DevCertificates.ca("raftkv development CA", validity);
            written.addAll(DevCertificates.write(out, "ca", ca, force));
            List<String> nodeHosts = DevCertificates.localHosts(hosts);
            for (int i = 0; i < nodes; i++)
                written.addAll(DevCertificates.write(out, "node-" + i,
                        DevCertificates.node(ca, "raftkv node " + i, nodeHosts, validity), force));
            for (String u : clients)
                written.addAll(DevCertificates.write(out, "client-" + u, DevCertificates.client(ca, u, validity), force));
        } catch (FileAlreadyExistsException e) {
            cl.getErr().println("raftkv: " + e.getFile() + " already exists; use --force to replace the whole set, or"
                    + " another --out folder");
            return 1;
        } catch (IOException e) {
            cl.getErr().println("raftkv: cannot write certificates in " + out + ": " + e);
            return 1;
        }
        cl.getOut().println("wrote " + written.size() + " files in " + out + ": a CA, " + nodes + " node certificate"
                + (nodes == 1 ? "" : "s") + " (valid for " + String.join(", ", DevCertificates.localHosts(hosts)) + ") and "
                + clients.size() + " client certificate" + (clients.size() == 1 ? "" : "s") + " (" + String.join(", ", clients)
                + "), valid " + days + " days");
        return 0;
    }
}
