package io.raftkv.security;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;

/**
 * PEM files loaded once into what both TLS stacks need: Netty's {@link SslContext}s for the node's
 * server and its connections to peers, and a JDK {@link SSLContext} for {@code java.net.http}
 * clients (the Java client, the shell, bench, chaos). Loading checks what a handshake would
 * otherwise fail on later with a vaguer message: files that hold no certificate or key, a key that
 * does not belong to the certificate, and a certificate that has expired or is not valid yet.
 *
 * @param chain the certificate chain of this side (empty: a client that shows no certificate)
 * @param key   its private key (empty with an empty chain)
 * @param trust the CAs whose certificates the other side must show
 */
public record TlsMaterial(List<X509Certificate> chain, Optional<PrivateKey> key, List<X509Certificate> trust) {
    private static final char[] NO_PASSWORD = new char[0];

    public TlsMaterial {
        chain = List.copyOf(chain);
        trust = List.copyOf(trust);
        if (chain.isEmpty() != key.isEmpty()) throw new IllegalArgumentException("a certificate needs its key");
        if (trust.isEmpty()) throw new IllegalArgumentException("no CA certificate to trust");
    }

    /**
     * A node's or client's files: {@code cert} and {@code key} (both or neither) and the CA
     * bundle {@code ca}. Throws {@link IllegalArgumentException} with a message naming the file and
     * what is wrong with it.
     */
    public static TlsMaterial load(Optional<Path> cert, Optional<Path> key, Path ca, Instant now) {
        if (cert.isPresent() != key.isPresent()) {
            throw new IllegalArgumentException("a certificate and its key go together: give both files or neither");
        }
        List<X509Certificate> trust = certificates(ca);
        for (X509Certificate c : trust) checkValid(c, ca, now);
        if (cert.isEmpty()) return new TlsMaterial(List.of(), Optional.empty(), trust);
        List<X509Certificate> chain = certificates(cert.get());
        checkValid(chain.getFirst(), cert.get(), now);
        PrivateKey pk = privateKey(key.get());
        if (!matches(chain.getFirst(), pk)) {
            throw new IllegalArgumentException("the key in " + key.get() + " does not belong to the certificate in "
                    + cert.get());
        }
        return new TlsMaterial(chain, Optional.of(pk), trust);
    }

    /** This side's own certificate (the first of its chain), if it shows one. */
    public Optional<X509Certificate> certificate() {
        return chain.isEmpty() ? Optional.empty() : Optional.of(chain.getFirst());
    }

    /** The server side of the node: its certificate, asking ({@code OPTIONAL}) or requiring clients' certificates. */
    public SslContext nettyServer(ClientAuth clientAuth) {
        try {
            return SslContextBuilder.forServer(keyManagers()).trustManager(trustManagers())
                    .clientAuth(clientAuth).sslProvider(SslProvider.JDK).build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** The client side of a node (to peers and, forwarding, to the leader): shows its certificate. */
    public SslContext nettyClient() {
        try {
            SslContextBuilder b = SslContextBuilder.forClient().trustManager(trustManagers()).sslProvider(SslProvider.JDK)
                    .endpointIdentificationAlgorithm("HTTPS");
            if (key.isPresent()) b.keyManager(keyManagers());
            return b.build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** For {@code java.net.http.HttpClient}: trusts the CA, shows the certificate if there is one. */
    public SSLContext jdk() {
        try {
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(key.isPresent() ? keyManagers().getKeyManagers() : null, trustManagers().getTrustManagers(), null);
            return c;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private KeyManagerFactory keyManagers() {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("key", key.orElseThrow(), NO_PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, NO_PASSWORD);
            return kmf;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot use the certificate and key: " + e.getMessage(), e);
        }
    }

    private TrustManagerFactory trustManagers() {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < trust.size(); i++) ks.setCertificateEntry("ca-" + i, trust.get(i));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot use the CA certificates: " + e.getMessage(), e);
        }
    }

    /** "expired at ..." / "not valid before ..." with the file and subject; nothing when valid at {@code now}. */
    static void checkValid(X509Certificate c, Path file, Instant now) {
        try {
            c.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            throw new IllegalArgumentException("the certificate in " + file + " (" + c.getSubjectX500Principal().getName()
                    + ") expired at " + c.getNotAfter().toInstant() + "; renew it (raftkv certs makes development ones)");
        } catch (CertificateNotYetValidException e) {
            throw new IllegalArgumentException("the certificate in " + file + " (" + c.getSubjectX500Principal().getName()
                    + ") is not valid before " + c.getNotBefore().toInstant() + "; check this machine's clock");
        }
    }

    private static List<X509Certificate> certificates(Path file) {
        List<X509Certificate> out = new ArrayList<>();
        for (Object o : pemObjects(file)) {
            if (o instanceof X509CertificateHolder h) {
                try {
                    out.add(new JcaX509CertificateConverter().getCertificate(h));
                } catch (java.security.cert.CertificateException e) {
                    throw new IllegalArgumentException(file + " holds a certificate that cannot be read: " + e.getMessage());
                }
            }
        }
        if (out.isEmpty()) throw new IllegalArgumentException(file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        return out;
    }

    private static PrivateKey privateKey(Path file) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        for (Object o : pemObjects(file)) {
            try {
                if (o instanceof PrivateKeyInfo info) return converter.getPrivateKey(info);
                if (o instanceof PEMKeyPair pair) return converter.getKeyPair(pair).getPrivate();
            } catch (IOException e) {
                throw new IllegalArgumentException(file + " holds a key that cannot be read: " + e.getMessage());
            }
        }
        throw new IllegalArgumentException(file + " holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)");
    }

    private static List<Object> pemObjects(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + " does not exist or is not a file");
        List<Object> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            for (Object o = p.readObject(); o != null; o = p.readObject()) out.add(o);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + " is not a PEM file: " + e.getMessage());
        }
        return out;
    }

    /** Whether {@code key} signs what the certificate's public key verifies. */
    private static boolean matches(X509Certificate cert, PrivateKey key) {
        String alg = switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (alg == null) return true; // an algorithm this check does not know: the handshake will tell
        try {
            byte[] probe = "raftkv key check".getBytes(StandardCharsets.US_ASCII);
            java.security.Signature s = java.security.Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            java.security.Signature v = java.security.Signature.getInstance(alg);
            v.initVerify(cert.getPublicKey());
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
