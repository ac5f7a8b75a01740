package io.jrope.cli;

import io.jrope.Backend;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Names accepted by {@code --backend}: {@code auto} and every backend of this build. */
final class BackendNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        List<String> names = new ArrayList<>();
        names.add("auto");
        names.addAll(Backend.names());
        return names.iterator();
    }
}
