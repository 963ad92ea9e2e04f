// Runs in the page (viewers.py devtools()): the trace file parsed as the
// Performance panel does on "Load profile" (TimelineLoader: traceEvents and
// metadata, then TraceModel.parse with all handlers), and what the panel
// then draws, as JSON in <pre id="out">: a track per thread
// (Threads.threadsInTrace, each thread's tree of slices) and the Call Tree
// tab (TopDownRootNode over a thread's slices: total and self time in ms).
// Engine console errors and warnings are caught as it logs them.
export async function show(Trace, text) {
  const out = document.getElementById('out');
  const logged = [];
  for (const level of ['error', 'warn']) {
    const orig = console[level];
    console[level] = (...a) => {
      logged.push(`${level}: ${a.join(' ')}`);
      orig.apply(console, a);
    };
  }
  try {
    const file = JSON.parse(text);
    const events = Array.isArray(file) ? file : file.traceEvents;
    const metadata = Array.isArray(file) ? {} : (file.metadata ?? {});
    const model = Trace.TraceModel.Model.createWithAllHandlers();
    await model.parse(events, {metadata, isFreshRecording: false});
    const {data} = model.parsedTrace(0);
    const bounds = data.Meta.traceBounds;
    const slice = n => [n.entry.name, n.entry.ts, n.entry.dur ?? 0, n.children.map(slice)];
    const calls = n => [...n.children().values()].map(
        c => [c.event.name, c.totalTime, c.selfTime, calls(c)]);
    const threads = Trace.Handlers.Threads.threadsInTrace(data).map(t => ({
      pid: t.pid,
      tid: t.tid,
      name: t.name,
      slices: t.entries.length,
      tree: [...t.tree.roots].map(slice),
      callTree: calls(new Trace.Extras.TraceTree.TopDownRootNode([...t.entries], {
        filters: [],
        startTime: bounds.min / 1000,
        endTime: bounds.max / 1000,
      })),
    }));
    const processes = Object.fromEntries(
        [...data.Meta.processNames].map(([pid, e]) => [pid, e.args.name]));
    out.textContent = JSON.stringify(
        {generic: data.Meta.traceIsGeneric, bounds: [bounds.min, bounds.max], processes, threads,
         logged});
  } catch (e) {
    out.textContent = JSON.stringify({exception: `${e}\n${e.stack}`, logged});
  }
}
