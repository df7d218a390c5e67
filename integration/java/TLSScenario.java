// Java client (com.rabbitmq:amqp-client, Debian librabbitmq-client-java) over
// TLS for beatmq's interop suite (TestTLSJava). Two logins on the amqps port,
// trusting the test's CA: "plain" as guest/guest with PLAIN, "external" with a
// client certificate (PEM files written by the Go test) and
// DefaultSaslConfig.EXTERNAL. Each declares a server-named queue, publishes one
// message and gets it back, then prints {"name":...,"ok":...,"body":...,"error":...}.
//
// Usage: TLSScenario PORT CA.pem CERT.pem KEY.pem (the key PKCS#8, EC).

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultSaslConfig;
import com.rabbitmq.client.GetResponse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public final class TLSScenario {
    public static void main(String[] argv) throws Exception {
        int port = Integer.parseInt(argv[0]);
        Certificate ca = readCert(argv[1]);
        Certificate cert = readCert(argv[2]);
        PrivateKey key = readKey(argv[3]);

        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);

        SSLContext plain = SSLContext.getInstance("TLSv1.2");
        plain.init(null, tmf.getTrustManagers(), null);
        login("plain", port, plain, false);

        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        char[] pass = "x".toCharArray();
        keys.setKeyEntry("client", key, pass, new Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pass);
        SSLContext withCert = SSLContext.getInstance("TLSv1.2");
        withCert.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        login("external", port, withCert, true);
    }

    private static void login(String name, int port, SSLContext ctx, boolean external) {
        String body = null, error = null;
        boolean ok = false;
        try {
            ConnectionFactory f = new ConnectionFactory();
            f.setHost("127.0.0.1");
            f.setPort(port);
            f.useSslProtocol(ctx);
            if (external) {
                f.setSaslConfig(DefaultSaslConfig.EXTERNAL);
            }
            f.setClientProperties(new java.util.HashMap<>(java.util.Map.of("connection_name", "java-tls-" + name)));
            try (Connection c = f.newConnection()) {
                Channel ch = c.createChannel();
                String q = ch.queueDeclare("", false, true, true, null).getQueue();
                ch.basicPublish("", q, null, ("over TLS: " + name).getBytes(StandardCharsets.UTF_8));
                GetResponse r = null;
                for (int i = 0; i < 50 && r == null; i++) {
                    r = ch.basicGet(q, true);
                    if (r == null) {
                        Thread.sleep(10);
                    }
                }
                body = r == null ? null : new String(r.getBody(), StandardCharsets.UTF_8);
                ok = true;
            }
        } catch (Exception e) {
            error = e.getClass().getName() + ": " + e.getMessage();
        }
        System.out.println("{\"name\":" + quote(name) + ",\"ok\":" + ok + ",\"body\":" + quote(body) + ",\"error\":" + quote(error) + "}");
        System.out.flush();
    }

    private static String quote(String s) {
        if (s == null) {
            return "null";
        }
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    private static Certificate readCert(String path) throws Exception {
        try (var in = Files.newInputStream(Paths.get(path))) {
            return CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static PrivateKey readKey(String path) throws Exception {
        String pem = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.US_ASCII);
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
    }
}
