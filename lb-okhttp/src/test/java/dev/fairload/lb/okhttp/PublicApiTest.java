package dev.fairload.lb.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The public API stays small: final classes, and no internal or third-party utility type in a signature. */
class PublicApiTest {
    private static final List<Class<?>> PUBLIC_TYPES = List.of(
            LoadBalancingInterceptor.class,
            LoadBalancingInterceptor.Builder.class,
            NoServerAvailableException.class,
            Retryable.class);

    @Test
    void publicTypes_areFinal() {
        assertThat(PUBLIC_TYPES)
                .allSatisfy(type -> assertThat(Modifier.isFinal(type.getModifiers()))
                        .as(type.getName())
                        .isTrue());
    }

    @Test
    void publicSignatures_exposeNoInternalOrResilienceTypes() {
        List<String> leaks = new ArrayList<>();
        for (Class<?> type : PUBLIC_TYPES) {
            for (Method method : type.getMethods()) {
                Stream.concat(Stream.of(method.getReturnType()), Stream.of(method.getParameterTypes()))
                        .filter(PublicApiTest::forbidden)
                        .forEach(leak -> leaks.add(method + " uses " + leak.getName()));
            }
            for (Constructor<?> constructor : type.getConstructors()) {
                Stream.of(constructor.getParameterTypes())
                        .filter(PublicApiTest::forbidden)
                        .forEach(leak -> leaks.add(constructor + " uses " + leak.getName()));
            }
        }

        assertThat(leaks).isEmpty();
    }

    private static boolean forbidden(Class<?> type) {
        String name = type.getName();
        return name.startsWith("dev.fairload.lb.okhttp.internal.")
                || name.startsWith("io.github.resilience4j.")
                || name.startsWith("com.github.benmanes.caffeine.");
    }
}
