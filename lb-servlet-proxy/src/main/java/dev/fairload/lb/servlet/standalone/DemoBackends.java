package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.Server;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Three tiny local backends for {@code --demo}: each answers every request with its name ({@code demo-1} to {@code
 * demo-3}) and a newline, so {@code curl localhost:8080/} shows the balancing. One Jetty server, one connector each,
 * on 127.0.0.1 and free ports.
 */
final class DemoBackends implements AutoCloseable {
    private final org.eclipse.jetty.server.Server server;
    private final List<Server> servers = new ArrayList<>();

    DemoBackends() throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool(32, 2);
        threads.setName("demo-backend");
        threads.setDaemon(true);
        server = new org.eclipse.jetty.server.Server(threads);
        Map<Connector, String> names = new IdentityHashMap<>();
        for (int i = 1; i <= 3; i++) {
            ServerConnector connector = new ServerConnector(server, 1, 1);
            connector.setHost("127.0.0.1");
            server.addConnector(connector);
            names.put(connector, "demo-" + i);
        }
        server.setHandler(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                String name = names.get(request.getConnectionMetaData().getConnector());
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
                Content.Sink.write(response, true, name + "\n", callback);
                return true;
            }
        });
        server.start();
        for (Connector c : server.getConnectors()) {
            ServerConnector connector = (ServerConnector) c;
            servers.add(Server.builder("127.0.0.1", connector.getLocalPort())
                    .id(names.get(connector))
                    .build());
        }
    }

    List<Server> servers() {
        return servers;
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
