package dev.fairload.lb.servlet;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * lb-servlet-proxy uses only the public API of lb-core and lb-okhttp, and only the standalone launcher touches
 * Jetty, so an application on Tomcat never needs it.
 */
class ModuleBoundaryTest {
    private static final JavaClasses MODULE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.fairload.lb.servlet");

    @Test
    void usesNoInternalPackageOfAnotherModule() {
        noClasses()
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.fairload.lb.internal..", "dev.fairload.lb.okhttp.internal..")
                .check(MODULE);
    }

    @Test
    void onlyTheStandaloneLauncherUsesJetty() {
        noClasses()
                .that()
                .resideOutsideOfPackage("dev.fairload.lb.servlet.standalone..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.eclipse.jetty..", "org.yaml..", "com.fasterxml.jackson.dataformat..")
                .check(MODULE);
    }
}
