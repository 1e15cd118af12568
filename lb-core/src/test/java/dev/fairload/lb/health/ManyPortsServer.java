package dev.fairload.lb.health;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Thousands of tiny HTTP/1.1 servers on 127.0.0.1, one listening port each, served by a single selector thread.
 * Every request gets {@code 200 OK}; connections are kept alive, as a real backend's would be.
 *
 * <p>Run as its own process ({@link #main}) so that the listening and accepted sockets do not count against the
 * test JVM's file-descriptor limit: it prints its ports on one line, serves until its standard input closes.
 */
final class ManyPortsServer implements AutoCloseable {
    private static final byte[] RESPONSE =
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII);

    private final Selector selector;
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private final int[] ports;
    final AtomicIntegerArray requests;
    private final Thread thread;
    private volatile boolean running = true;

    ManyPortsServer(int count) throws IOException {
        selector = Selector.open();
        ports = new int[count];
        requests = new AtomicIntegerArray(count);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (int i = 0; i < count; i++) {
            ServerSocketChannel channel = ServerSocketChannel.open();
            channel.bind(new InetSocketAddress(loopback, 0), 64);
            channel.configureBlocking(false);
            channel.register(selector, SelectionKey.OP_ACCEPT, i);
            listeners.add(channel);
            ports[i] = ((InetSocketAddress) channel.getLocalAddress()).getPort();
        }
        thread = new Thread(this::serve, "many-ports-server");
        thread.setDaemon(true);
        thread.start();
    }

    int port(int i) {
        return ports[i];
    }

    private void serve() {
        ByteBuffer buffer = ByteBuffer.allocate(8192);
        while (running) {
            try {
                selector.select(100);
                for (SelectionKey key : selector.selectedKeys()) {
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        SocketChannel client = ((ServerSocketChannel) key.channel()).accept();
                        if (client != null) {
                            client.configureBlocking(false);
                            client.register(selector, SelectionKey.OP_READ, new Connection((Integer) key.attachment()));
                        }
                    } else if (key.isReadable()) {
                        read(key, buffer);
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException e) {
                // Keep serving the other ports.
            }
        }
    }

    private static final class Connection {
        final int index;
        final StringBuilder head = new StringBuilder();

        Connection(int index) {
            this.index = index;
        }
    }

    private void read(SelectionKey key, ByteBuffer buffer) throws IOException {
        SocketChannel client = (SocketChannel) key.channel();
        Connection connection = (Connection) key.attachment();
        buffer.clear();
        int n;
        try {
            n = client.read(buffer);
        } catch (IOException e) {
            key.cancel();
            client.close();
            return;
        }
        if (n < 0) {
            key.cancel();
            client.close();
            return;
        }
        connection.head.append(new String(buffer.array(), 0, n, StandardCharsets.US_ASCII));
        int end;
        while ((end = connection.head.indexOf("\r\n\r\n")) >= 0) {
            requests.incrementAndGet(connection.index);
            client.write(ByteBuffer.wrap(RESPONSE));
            connection.head.delete(0, end + 4);
        }
    }

    /** Serves {@code args[0]} ports; prints them comma-separated; exits when standard input closes. */
    public static void main(String[] args) throws Exception {
        try (ManyPortsServer server = new ManyPortsServer(Integer.parseInt(args[0]))) {
            StringBuilder line = new StringBuilder("PORTS ");
            for (int i = 0; i < server.ports.length; i++) {
                line.append(i == 0 ? "" : ",").append(server.ports[i]);
            }
            System.out.println(line);
            System.out.flush();
            while (System.in.read() >= 0) {
                // Wait for the parent to close our input.
            }
        }
    }

    @Override
    public void close() throws IOException {
        running = false;
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ServerSocketChannel channel : listeners) {
            channel.close();
        }
        selector.close();
    }
}
