package io.raftkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code raftkv user ...}, {@code raftkv role ...} and {@code raftkv auth ...}: users, roles and
 * authentication, as etcdctl has them. Each subcommand sends one request to the cluster and
 * prints the node's answer; exit 0 on success, 1 when the cluster refused (with its message), 2
 * for bad flags.
 */
final class AdminCommands {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AdminCommands() {}

    /** What every admin subcommand shares: the cluster, TLS, who is asking. */
    static class Base {
        @Option(names = {"--cluster", "-c"}, required = true, paramLabel = "LIST",
                description = "Addresses of the cluster's nodes, comma-separated (any one is enough).")
        String cluster;

        @Option(names = "--timeout-ms", defaultValue = "10000", description = "How long to wait for the answer (default: ${DEFAULT-VALUE}).")
        long timeoutMs;

        @CommandLine.Mixin
        ClientTlsOptions tls = new ClientTlsOptions();

        @CommandLine.Mixin
        ClientAuthOptions auth = new ClientAuthOptions();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        int send(String path, ObjectNode body) {
            CommandLine cl = spec.commandLine();
            var nodes = ShellCommand.parseCluster(cluster, spec);
            if (timeoutMs < 1) throw new CommandLine.ParameterException(cl, "--timeout-ms must be >= 1");
            auth.check(cl);
            Duration timeout = Duration.ofMillis(timeoutMs);
            try (RaftKvClient client = new RaftKvClient(nodes, timeout, false, timeout, null, tls.context(cl))) {
                String loginFailure = auth.login(client, cl);
                if (loginFailure != null) {
                    cl.getErr().println("raftkv: " + loginFailure);
                    return 1;
                }
                KvResult r = client.admin(path, body);
                if (r.ok()) {
                    print(cl, path, r.body());
                    return 0;
                }
                cl.getErr().println("raftkv: " + path + ": " + (r.status() == 0 ? "no answer" : "HTTP " + r.status()) + ": "
                        + r.error().orElse(r.body().toString()));
                return 1;
            }
        }

        private static void print(CommandLine cl, String path, JsonNode body) {
            var out = cl.getOut();
            switch (path) {
                case "/user/list" -> {
                    for (JsonNode u : body.path("users")) {
                        StringBuilder roles = new StringBuilder();
                        for (JsonNode r : u.path("roles")) roles.append(roles.isEmpty() ? "" : ",").append(r.asText());
                        out.printf("%-24s %s%n", u.path("name").asText(), roles);
                    }
                }
                case "/role/list" -> body.path("roles").fields().forEachRemaining(e -> {
                    out.println(e.getKey());
                    e.getValue().fields().forEachRemaining(g -> out.printf("  %-30s %s%n", "'" + g.getKey() + "'", g.getValue().asText()));
                });
                case "/auth/status" -> out.println("authentication is " + (body.path("enabled").asBoolean() ? "on" : "off"));
                default -> out.println(body.path("message").asText(body.toString()));
            }
            out.flush();
        }
    }

    static ObjectNode obj(String... kv) {
        ObjectNode o = JSON.createObjectNode();
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        return o;
    }

    /** The new password: from --new-password-file, or asked on the terminal twice. */
    static String newPassword(Path file, CommandLine cl) {
        if (file != null) return ClientAuthOptions.readPassword(file, "--new-password-file", cl);
        java.io.Console console = System.console();
        if (console == null) throw new CommandLine.ParameterException(cl, "give --new-password-file FILE (no terminal to ask on)");
        char[] a = console.readPassword("Password: ");
        char[] b = console.readPassword("Again: ");
        if (a == null || b == null || !java.util.Arrays.equals(a, b)) throw new CommandLine.ParameterException(cl, "the passwords differ");
        return new String(a);
    }

    @Command(name = "user", mixinStandardHelpOptions = true, description = {"Users (when authentication is on: as root)."},
            subcommands = {UserAdd.class, UserDelete.class, UserPasswd.class, UserGrantRole.class, UserRevokeRole.class,
                    UserList.class},
            footer = {"", "  raftkv user add root --new-password-file root.pw -c localhost:8000",
                    "  raftkv user grant-role alice app -c localhost:8000 --user root --password-file root.pw"})
    static final class UserCommand implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: add, delete, passwd, grant-role, revoke-role or list");
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Adds a user with a password (asked, or from --new-password-file).")
    static final class UserAdd extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--new-password-file", paramLabel = "FILE", description = "File whose first line is the new user's password.")
        Path newPasswordFile;

        @Override
        public Integer call() {
            return send("/user/add", obj("name", name, "password", newPassword(newPasswordFile, spec.commandLine())));
        }
    }

    @Command(name = "passwd", mixinStandardHelpOptions = true, description = "Changes a user's password; its tokens stop working.")
    static final class UserPasswd extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--new-password-file", paramLabel = "FILE", description = "File whose first line is the new password.")
        Path newPasswordFile;

        @Override
        public Integer call() {
            return send("/user/passwd", obj("name", name, "password", newPassword(newPasswordFile, spec.commandLine())));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes a user; its tokens stop working.")
    static final class UserDelete extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            return send("/user/delete", obj("name", name));
        }
    }

    @Command(name = "grant-role", mixinStandardHelpOptions = true, description = "Gives a user a role.")
    static final class UserGrantRole extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "ROLE") String role;

        @Override
        public Integer call() {
            return send("/user/grant-role", obj("name", name, "role", role));
        }
    }

    @Command(name = "revoke-role", mixinStandardHelpOptions = true, description = "Takes a role from a user.")
    static final class UserRevokeRole extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "ROLE") String role;

        @Override
        public Integer call() {
            return send("/user/revoke-role", obj("name", name, "role", role));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the users and their roles.")
    static final class UserList extends Base implements Callable<Integer> {
        @Override
        public Integer call() {
            return send("/user/list", null);
        }
    }

    @Command(name = "role", mixinStandardHelpOptions = true, description = {"Roles: read or readwrite on key prefixes."},
            subcommands = {RoleAdd.class, RoleDelete.class, RoleGrant.class, RoleRevoke.class, RoleList.class},
            footer = {"", "  raftkv role add app -c localhost:8000 --user root --password-file root.pw",
                    "  raftkv role grant app app/ readwrite -c localhost:8000 --user root --password-file root.pw"})
    static final class RoleCommand implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: add, delete, grant, revoke or list");
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Adds a role with no grant.")
    static final class RoleAdd extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            return send("/role/add", obj("name", name));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes a role (its users lose it).")
    static final class RoleDelete extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            return send("/role/delete", obj("name", name));
        }
    }

    @Command(name = "grant", mixinStandardHelpOptions = true,
            description = "Lets a role read, or read and write, every key starting with PREFIX ('' for all keys).")
    static final class RoleGrant extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "PREFIX") String prefix;
        @Parameters(index = "2", paramLabel = "PERMISSION", description = "read or readwrite") String permission;

        @Override
        public Integer call() {
            return send("/role/grant", obj("name", name, "prefix", prefix, "permission", permission));
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Takes back a role's grant on PREFIX.")
    static final class RoleRevoke extends Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "PREFIX") String prefix;

        @Override
        public Integer call() {
            return send("/role/revoke", obj("name", name, "prefix", prefix));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the roles and their grants.")
    static final class RoleList extends Base implements Callable<Integer> {
        @Override
        public Integer call() {
            return send("/role/list", null);
        }
    }

    @Command(name = "auth", mixinStandardHelpOptions = true, description = {"Turns authentication on or off, or says which."},
            subcommands = {AuthEnable.class, AuthDisable.class, AuthStatus.class},
            footer = {"", "  raftkv user add root --new-password-file root.pw -c localhost:8000",
                    "  raftkv auth enable -c localhost:8000",
                    "  raftkv auth disable -c localhost:8000 --user root --password-file root.pw"})
    static final class AuthCommand implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: enable, disable or status");
        }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true,
            description = "Turns authentication on (user root must exist): every request then needs a user.")
    static final class AuthEnable extends Base implements Callable<Integer> {
        @Option(names = "--token-ttl-seconds", paramLabel = "N", description = "How long a login's token lasts (default: 600).")
        Long ttl;

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode();
            if (ttl != null) body.put("tokenTtlSeconds", ttl);
            return send("/auth/enable", body);
        }
    }

    @Command(name = "disable", mixinStandardHelpOptions = true, description = "Turns authentication off (as root).")
    static final class AuthDisable extends Base implements Callable<Integer> {
        @Override
        public Integer call() {
            return send("/auth/disable", JSON.createObjectNode());
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Says whether authentication is on.")
    static final class AuthStatus extends Base implements Callable<Integer> {
        @Override
        public Integer call() {
            return send("/auth/status", null);
        }
    }
}
