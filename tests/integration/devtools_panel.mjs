// Bundled with DevTools' trace_app (devtools_build.mjs app): once the
// Performance panel has drawn the trace it was opened with (?traceURL=),
// writes what its flame chart holds as JSON into <pre id="out">: the
// tracks (groups: name, first level, nesting) and every entry (title,
// level, start and length in ms), from the chart's own data provider.
import * as Timeline from 'devtools-frontend/panels/timeline/timeline.js';

const out = document.createElement('pre');
out.id = 'out';
document.documentElement.append(out);

function drawn() {
  let panel;
  try {
    panel = Timeline.TimelinePanel.TimelinePanel.instance();
  } catch {
    return null;    // not made yet
  }
  const provider = panel.getFlameChart().getMainDataProvider();
  const data = provider.timelineData();
  if (!data || !data.entryLevels.length) {
    return null;
  }
  return {
    groups: data.groups.map(g => ({name: g.name, startLevel: g.startLevel,
                                   nesting: g.style.nestingLevel})),
    entries: Array.from(data.entryLevels, (level, i) => [provider.entryTitle(i), level,
      data.entryStartTimes[i], data.entryTotalTimes[i]]),
  };
}

(function poll() {
  try {
    const shown = drawn();
    if (shown) {
      out.textContent = JSON.stringify(shown);
      return;
    }
  } catch (e) {
    out.textContent = JSON.stringify({exception: `${e}\n${e.stack}`});
    return;
  }
  setTimeout(poll, 100);
})();
