package io.raftkv.security;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * A certificate authority and certificates for development clusters, made with Bouncy Castle's
 * PKIX builders (etcd's docs use cfssl for the same): a self-signed CA, one certificate per node
 * that serves the API and authenticates the node to its peers (server and client auth, the
 * node's host names and addresses as subject alternative names), and client certificates whose
 * common name names a user. Keys are ECDSA P-256 in PKCS#8 PEM, readable by the owner only.
 *
 * <p>For development and tests: a production cluster takes its certificates from its own CA.
 */
public final class DevCertificates {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String SIGNATURE = "SHA256withECDSA";
    /** Valid from a little before now, for clocks a bit behind. */
    private static final Duration CLOCK_SLACK = Duration.ofMinutes(5);

    /** A certificate and its key pair. */
    public record Issued(X509Certificate certificate, KeyPair keys) {}

    private DevCertificates() {}

    /** A self-signed CA valid for {@code validity} from now. */
    public static Issued ca(String name, Duration validity) {
        KeyPair keys = newKeyPair();
        X500Name subject = new X500Name("CN=" + name);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            Instant now = Instant.now();
            X509v3CertificateBuilder b = builder(subject, subject, keys, now.minus(CLOCK_SLACK), now.plus(validity))
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new Issued(sign(b, keys), keys);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot make the CA certificate", e);
        }
    }

    /**
     * A node's certificate, signed by {@code ca}: common name {@code commonName}, valid for
     * {@code hosts} (DNS names or IP addresses), for TLS servers and clients alike (a node is both
     * to its peers).
     */
    public static Issued node(Issued ca, String commonName, List<String> hosts, Duration validity) {
        Instant now = Instant.now();
        return leaf(ca, commonName, hosts, now.minus(CLOCK_SLACK), now.plus(validity), true);
    }

    /** A node certificate valid from {@code notBefore} to {@code notAfter} (tests make expired ones). */
    public static Issued node(Issued ca, String commonName, List<String> hosts, Instant notBefore, Instant notAfter) {
        return leaf(ca, commonName, hosts, notBefore, notAfter, true);
    }

    /** A client certificate signed by {@code ca} whose common name is the user {@code user}. */
    public static Issued client(Issued ca, String user, Duration validity) {
        Instant now = Instant.now();
        return leaf(ca, user, List.of(), now.minus(CLOCK_SLACK), now.plus(validity), false);
    }

    /** A client certificate valid from {@code notBefore} to {@code notAfter}. */
    public static Issued client(Issued ca, String user, Instant notBefore, Instant notAfter) {
        return leaf(ca, user, List.of(), notBefore, notAfter, false);
    }

    private static Issued leaf(Issued ca, String commonName, List<String> hosts, Instant notBefore, Instant notAfter,
                               boolean server) {
        KeyPair keys = newKeyPair();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = builder(X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded()),
                    new X500Name("CN=" + commonName), keys, notBefore, notAfter)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, server
                            ? new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth})
                            : new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(ca.certificate()));
            if (!hosts.isEmpty()) {
                List<GeneralName> names = new ArrayList<>();
                for (String h : hosts) names.add(isIpAddress(h) ? new GeneralName(GeneralName.iPAddress, h)
                        : new GeneralName(GeneralName.dNSName, h));
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            return new Issued(sign(b, ca.keys()), keys);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot make the certificate of " + commonName, e);
        }
    }

    /** Whether {@code host} is an IPv4 or IPv6 literal (not a name to look up). */
    static boolean isIpAddress(String host) {
        if (host.contains(":")) return true; // IPv6
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys, Instant notBefore,
                                                     Instant notAfter) {
        return new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM).add(BigInteger.ONE),
                Date.from(notBefore), Date.from(notAfter), subject, keys.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws GeneralSecurityException {
        try {
            X509CertificateHolder holder = b.build(new JcaContentSignerBuilder(SIGNATURE).build(signer.getPrivate()));
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no EC P-256 key generator in this JDK", e);
        }
    }

    /** The PEM text of a certificate or a key (PKCS#8 for private keys). */
    public static String pem(Object certificateOrKey) {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(certificateOrKey instanceof java.security.PrivateKey k
                    ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : certificateOrKey);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return s.toString();
    }

    /**
     * Writes {@code issued} as {@code <name>.pem} and {@code <name>-key.pem} (owner-only) in {@code
     * dir}; refuses to overwrite unless {@code overwrite}.
     */
    public static List<Path> write(Path dir, String name, Issued issued, boolean overwrite) throws IOException {
        Path cert = dir.resolve(name + ".pem");
        Path key = dir.resolve(name + "-key.pem");
        writeFile(cert, pem(issued.certificate()), overwrite, false);
        writeFile(key, pem(issued.keys().getPrivate()), overwrite, true);
        return List.of(cert, key);
    }

    private static void writeFile(Path file, String text, boolean overwrite, boolean secret) throws IOException {
        if (!overwrite && Files.exists(file)) throw new FileAlreadyExistsException(file.toString());
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                    secret ? "rw-------" : "rw-r--r--")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file); // not a POSIX file system
        }
        Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** The host names and addresses a local node is reached by: localhost, its loopback addresses, and {@code extra}. */
    public static List<String> localHosts(List<String> extra) {
        List<String> hosts = new ArrayList<>(List.of("localhost", "127.0.0.1", "::1"));
        for (String h : extra) if (!hosts.contains(h)) hosts.add(h);
        return hosts;
    }
}
