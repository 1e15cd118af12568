package com.example.consumer;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.okhttp.LoadBalancingInterceptor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/** Runs the README's example against a backend on 127.0.0.1 and fails loudly if anything is off. */
public final class ReadmeExample {
    public static void main(String[] args) throws IOException {
        HttpServer backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        backend.createContext("/", exchange -> {
            byte[] body = ("hello from " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        backend.start();
        int port = backend.getAddress().getPort();
        try {
            // The README's three lines:
            LoadBalancer orders = LoadBalancer.builder().name("orders").addServer(Server.of("127.0.0.1", port)).build();
            OkHttpClient client = new OkHttpClient.Builder()
                    .addInterceptor(LoadBalancingInterceptor.builder().service("orders", orders).build())
                    .build();

            try (Response response = client.newCall(new Request.Builder().url("http://orders/items").build()).execute()) {
                String body = response.body().string();
                if (response.code() != 200 || !body.equals("hello from /items")) {
                    throw new IllegalStateException("unexpected answer: " + response.code() + " " + body);
                }
                System.out.println("consumer smoke test: " + body + " via " + response.request().url());
            }
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
            orders.close();
        } finally {
            backend.stop(0);
        }
    }
}
