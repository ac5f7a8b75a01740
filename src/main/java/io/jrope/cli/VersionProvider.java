package io.jrope.cli;

import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Reports the version Maven recorded in the jar ({@code META-INF/maven/io.jrope/jrope/pom.properties}). */
final class VersionProvider implements IVersionProvider {
    private static final String POM_PROPERTIES = "/META-INF/maven/io.jrope/jrope/pom.properties";

    @Override
    public String[] getVersion() throws IOException {
        String version = "unknown (not run from the jar)";
        try (InputStream in = VersionProvider.class.getResourceAsStream(POM_PROPERTIES)) {
            if (in != null) {
                Properties properties = new Properties();
                properties.load(in);
                version = properties.getProperty("version", version);
            }
        }
        String java = "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")";
        return new String[] {"jrope " + version, java};
    }
}
