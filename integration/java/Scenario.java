// Java client (com.rabbitmq:amqp-client, Debian librabbitmq-client-java) scenario
// program for beatmq's interop suite. The Go tests compile it with javac into a
// temporary directory and run it; it prints JSON lines on stdout: {"event":"open",...}
// once the connection is open, then one {"event":"result",...} line.

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public final class Scenario {
    private static final String CLIENT = "java";

    private final Map<String, String> opts = new LinkedHashMap<>();
    private final Map<String, Object> res = new LinkedHashMap<>();
    private final AtomicReference<ShutdownSignalException> shutdown = new AtomicReference<>();
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile double tShutdown;
    private Channel channel;

    public static void main(String[] argv) {
        Scenario s = new Scenario();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            s.opts.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        s.run();
        System.exit(0);
    }

    private String opt(String k, String def) {
        String v = opts.get(k);
        return v == null ? def : v;
    }

    private void run() {
        String scenario = opt("scenario", "");
        res.put("event", "result");
        res.put("client", CLIENT);
        res.put("scenario", scenario);
        res.put("closed", false);
        try {
            switch (scenario) {
                case "roundtrip": roundtrip(); break;
                case "hold": hold(); break;
                case "idle": idle(); break;
                case "dead": dead(); break;
                case "watch": watch(); break;
                default: throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } catch (Throwable e) {
            res.put("t_error", now());
            putError(e);
        }
        res.put("t_end", now());
        emit(res);
    }

    private void putError(Throwable e) {
        // A missed-heartbeat shutdown carries MissedHeartbeatException as its
        // cause; an IOException from an RPC wraps the ShutdownSignalException.
        Throwable shown = e;
        while (shown.getCause() != null
                && (shown.getMessage() == null || shown instanceof ShutdownSignalException)) {
            shown = shown.getCause();
        }
        res.put("error", String.valueOf(shown.getMessage()));
        res.put("error_type", shown.getClass().getName());
    }

    /** An SSLContext (TLS 1.2 or later) that trusts the CA in the PEM file caFile. */
    private static SSLContext trusting(String caFile) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = new FileInputStream(caFile)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private Connection connect() throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost(opt("host", "127.0.0.1"));
        f.setPort(Integer.parseInt(opt("port", "5672")));
        f.setRequestedHeartbeat(Integer.parseInt(opt("heartbeat", "60")));
        f.setAutomaticRecoveryEnabled(false);
        f.setTopologyRecoveryEnabled(false);
        f.setConnectionTimeout(10000);
        String ca = opt("tls-ca", "");
        if (!ca.isEmpty()) {
            f.useSslProtocol(trusting(ca));
        }
        Connection c = f.newConnection(opt("name", "java"));
        c.addShutdownListener(cause -> {
            tShutdown = now();
            shutdown.set(cause);
            stop.countDown();
        });
        int hb = c.getHeartbeat();
        res.put("heartbeat", hb);
        // Open a channel before announcing "open": the driver may cut the
        // connection as soon as it reads that line.
        channel = c.createChannel();
        Map<String, Object> open = new LinkedHashMap<>();
        open.put("event", "open");
        open.put("client", CLIENT);
        open.put("heartbeat", hb);
        open.put("library", "RabbitMQ Java client " + com.rabbitmq.client.impl.ClientVersion.VERSION
                + " (Java " + System.getProperty("java.version") + ")");
        open.put("t", now());
        emit(open);
        return c;
    }

    /** Counts down `stop` when stdin delivers a line or reaches EOF. */
    private void watchStdin() {
        Thread t = new Thread(() -> {
            try {
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            } catch (Exception ignored) {
                // EOF or error: both mean stop
            }
            stop.countDown();
        });
        t.setDaemon(true);
        t.start();
    }

    private static String payload(int i) {
        return String.format("msg-%05d", i);
    }

    private void roundtrip() throws Exception {
        int count = Integer.parseInt(opt("count", "1000"));
        String q = opt("queue", "");
        Connection c = connect();
        Channel ch = channel;
        ch.queueDeclare(q, false, true, false, null);
        ch.confirmSelect();
        int published = 0;
        for (int i = 0; i < count; i++) {
            ch.basicPublish("", q, null, payload(i).getBytes(StandardCharsets.UTF_8));
            published++;
        }
        res.put("published", published);
        ch.waitForConfirmsOrDie(30000);
        res.put("confirmed", published);
        ch.basicQos(100);
        LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
        String tag = ch.basicConsume(q, false, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String consumerTag, Envelope env, AMQP.BasicProperties props, byte[] body)
                    throws java.io.IOException {
                got.add(new String(body, StandardCharsets.UTF_8));
                getChannel().basicAck(env.getDeliveryTag(), false);
            }
        });
        List<String> bodies = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (bodies.size() < count && System.nanoTime() < deadline) {
            String b = got.poll(100, TimeUnit.MILLISECONDS);
            if (b != null) bodies.add(b);
        }
        ch.basicCancel(tag);
        int bad = 0;
        for (int i = 0; i < bodies.size(); i++) {
            if (!bodies.get(i).equals(payload(i))) bad++;
        }
        res.put("received", bodies.size());
        res.put("payload_errors", bad);
        c.close();
        res.put("closed", true);
    }

    private void hold() throws Exception {
        Connection c = connect();
        watchStdin();
        stop.await((long) (Double.parseDouble(opt("seconds", "30")) * 1000), TimeUnit.MILLISECONDS);
        res.put("alive", c.isOpen());
        c.close();
        res.put("closed", true);
    }

    private void idle() throws Exception {
        Connection c = connect();
        Channel ch = channel;
        Thread.sleep((long) (Double.parseDouble(opt("seconds", "4")) * 1000));
        ch.queueDeclare("", false, true, false, null);
        res.put("alive", c.isOpen());
        c.close();
        res.put("closed", true);
    }

    private void dead() throws Exception {
        Connection c = connect();
        watchStdin();
        stop.await((long) (Double.parseDouble(opt("seconds", "30")) * 1000), TimeUnit.MILLISECONDS);
        ShutdownSignalException cause = shutdown.get();
        if (cause != null) {
            res.put("t_detect", tShutdown);
            res.put("alive", false);
            putError(cause);
            return;
        }
        res.put("alive", c.isOpen());
        c.close();
        res.put("closed", true);
    }

    /**
     * Keeps the connection open while the fault matrix injects a fault: consumes
     * its own exclusive queue (no acks) and publishes a message to it every
     * --every seconds (none if 0). When the shutdown listener fires it reports
     * t_detect and the cause at once; when stdin says stop or --seconds pass, it
     * waits up to 5 s for what it published and reports whether the connection
     * is open. Counters: published, received, max_delay (seconds).
     */
    private void watch() throws Exception {
        double every = Double.parseDouble(opt("every", "0"));
        String q = opt("queue", "");
        Connection c = connect();
        Channel ch = channel;
        ch.queueDeclare(q, false, true, true, null);
        List<Double> sent = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger received = new java.util.concurrent.atomic.AtomicInteger();
        double[] maxDelay = {0};
        ch.basicConsume(q, true, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String consumerTag, Envelope env, AMQP.BasicProperties props, byte[] body) {
                try {
                    int i = Integer.parseInt(new String(body, StandardCharsets.UTF_8));
                    synchronized (maxDelay) {
                        maxDelay[0] = Math.max(maxDelay[0], now() - sent.get(i));
                    }
                } catch (RuntimeException ignored) {
                    // not one of ours
                }
                received.incrementAndGet();
            }
        });
        watchStdin();
        long bound = System.nanoTime() + (long) (Double.parseDouble(opt("seconds", "30")) * 1e9);
        long next = every > 0 ? System.nanoTime() + (long) (every * 1e9) : Long.MAX_VALUE;
        boolean stopping = false;
        long drainEnd = 0;
        while (true) {
            ShutdownSignalException cause = shutdown.get();
            if (cause != null) {
                res.put("t_detect", tShutdown);
                res.put("alive", false);
                putError(cause);
                break;
            }
            long t = System.nanoTime();
            if (!stopping && (stop.getCount() == 0 || t >= bound)) {
                stopping = true;
                drainEnd = t + 5_000_000_000L;
            }
            if (stopping && (received.get() >= sent.size() || t >= drainEnd)) {
                res.put("alive", c.isOpen());
                break;
            }
            if (!stopping && t >= next) {
                try {
                    ch.basicPublish("", q, null, Integer.toString(sent.size()).getBytes(StandardCharsets.UTF_8));
                    sent.add(now());
                } catch (Exception e) {
                    Thread.sleep(200); // let the shutdown listener report the cause
                    if (shutdown.get() == null) {
                        res.put("t_detect", now());
                        res.put("alive", false);
                        putError(e);
                        break;
                    }
                    continue;
                }
                next += (long) (every * 1e9);
            }
            Thread.sleep(10);
        }
        res.put("published", sent.size());
        res.put("received", received.get());
        synchronized (maxDelay) {
            res.put("max_delay", maxDelay[0]);
        }
        if (c.isOpen()) {
            c.close();
            res.put("closed", true);
        }
    }

    private static double now() {
        return System.currentTimeMillis() / 1000.0;
    }

    private static synchronized void emit(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (!first) sb.append(", ");
            first = false;
            sb.append(quote(e.getKey())).append(": ");
            Object v = e.getValue();
            if (v instanceof Number || v instanceof Boolean) {
                sb.append(v);
            } else {
                sb.append(quote(String.valueOf(v)));
            }
        }
        sb.append("}");
        System.out.println(sb);
        System.out.flush();
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
                    else sb.append(ch);
            }
        }
        return sb.append('"').toString();
    }
}
