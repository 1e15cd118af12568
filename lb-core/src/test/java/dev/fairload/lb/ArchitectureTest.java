package dev.fairload.lb;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** lb-core stays free of HTTP clients, servlets and JSON, and keeps third-party types out of its API. */
class ArchitectureTest {
    private static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.fairload.lb");

    @Test
    void core_dependsOnNoHttpClientServletOrJson() {
        noClasses()
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "okhttp3..",
                        "okio..",
                        "jakarta.servlet..",
                        "javax.servlet..",
                        "org.eclipse.jetty..",
                        "org.apache.catalina..",
                        "com.fasterxml.jackson..",
                        "com.google.gson..")
                .check(CORE);
    }

    @Test
    void core_usesMicrometerOnlyInItsBinderPackage() {
        noClasses()
                .that()
                .resideOutsideOfPackage("dev.fairload.lb.micrometer..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.micrometer..")
                .check(CORE);
    }

    @Test
    void publicPackages_exposeNoThirdPartyTypes() {
        noClasses()
                .that()
                .resideInAnyPackage(
                        "dev.fairload.lb",
                        "dev.fairload.lb.event",
                        "dev.fairload.lb.exchange",
                        "dev.fairload.lb.health")
                .and()
                .arePublic()
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("com.github.benmanes.caffeine..", "io.github.resilience4j..")
                .check(CORE);
    }
}
