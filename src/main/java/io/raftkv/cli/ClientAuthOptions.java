package io.raftkv.cli;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code --user} and {@code --password-file} of every command that talks to a cluster: with them
 * the client logs in ({@code POST /auth/login}) before its first request and again when its token
 * expires. The password is read from a file (its first line), never from the command line, where
 * other users of the machine could read it.
 */
final class ClientAuthOptions {
    @Option(names = "--user", paramLabel = "NAME", scope = CommandLine.ScopeType.INHERIT,
            description = "Log in as this user (when the cluster has authentication on).")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE", scope = CommandLine.ScopeType.INHERIT,
            description = "File whose first line is the password of --user.")
    Path passwordFile;

    /** The password of --user, or a usage error saying what is missing. */
    static String readPassword(Path file, String flag, CommandLine cl) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            String first = text.lines().findFirst().orElse("");
            if (first.isEmpty()) throw new CommandLine.ParameterException(cl, flag + " " + file + " is empty; put the password on its first line");
            return first;
        } catch (IOException e) {
            throw new CommandLine.ParameterException(cl, "cannot read " + flag + " " + file + ": " + e.getMessage());
        }
    }

    /** Checks the flags go together (before anything is sent). */
    void check(CommandLine cl) {
        if (user == null && passwordFile != null) throw new CommandLine.ParameterException(cl, "--password-file needs --user");
        if (user != null && passwordFile == null) {
            throw new CommandLine.ParameterException(cl, "--user needs --password-file FILE (the password's first line;"
                    + " not on the command line, where others could read it)");
        }
    }

    /** Logs {@code client} in when --user is given; returns the failure to print, or null. */
    String login(RaftKvClient client, CommandLine cl) {
        check(cl);
        if (user == null) return null;
        KvResult r = client.login(user, readPassword(passwordFile, "--password-file", cl));
        if (r.ok()) return null;
        return "login as " + user + " failed: " + (r.status() == 0 ? "no answer" : "HTTP " + r.status()) + ": "
                + r.error().orElse(r.body().toString());
    }
}
