package dev.fairload.lb.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The engine's public API stays small: final types, no public constructors, no internal type in a signature. */
class ExchangeApiTest {
    private static final List<Class<?>> PUBLIC_TYPES =
            List.of(ExchangeEngine.class, ExchangeEngine.Builder.class, Exchange.class, Exchange.Next.class);

    @Test
    void publicTypes_areFinalWithoutPublicConstructors() {
        assertThat(PUBLIC_TYPES).allSatisfy(type -> {
            assertThat(Modifier.isFinal(type.getModifiers())).as(type.getName()).isTrue();
            assertThat(type.getConstructors()).as(type.getName()).isEmpty();
        });
    }

    @Test
    void publicSignatures_exposeNoInternalOrThirdPartyTypes() {
        List<String> leaks = new ArrayList<>();
        for (Class<?> type : PUBLIC_TYPES) {
            for (Method method : type.getMethods()) {
                Stream.concat(Stream.of(method.getReturnType()), Stream.of(method.getParameterTypes()))
                        .filter(ExchangeApiTest::forbidden)
                        .forEach(leak -> leaks.add(method + " uses " + leak.getName()));
            }
            for (Constructor<?> constructor : type.getConstructors()) {
                Stream.of(constructor.getParameterTypes())
                        .filter(ExchangeApiTest::forbidden)
                        .forEach(leak -> leaks.add(constructor + " uses " + leak.getName()));
            }
        }

        assertThat(leaks).isEmpty();
    }

    private static boolean forbidden(Class<?> type) {
        String name = type.getName();
        return name.startsWith("dev.fairload.lb.internal.")
                || name.startsWith("io.github.resilience4j.")
                || name.startsWith("com.github.benmanes.caffeine.");
    }
}
