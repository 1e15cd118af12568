package dev.fairload.lb.okhttp;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** lb-okhttp uses only lb-core's public API, and keeps servlet and JSON libraries out. */
class ModuleBoundaryTest {
    private static final JavaClasses MODULE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.fairload.lb.okhttp");

    @Test
    void usesNoInternalPackageOfAnotherModule() {
        noClasses()
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.fairload.lb.internal..")
                .check(MODULE);
    }

    @Test
    void dependsOnNoServletOrJson() {
        noClasses()
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("jakarta.servlet..", "org.eclipse.jetty..", "com.fasterxml.jackson..")
                .check(MODULE);
    }
}
