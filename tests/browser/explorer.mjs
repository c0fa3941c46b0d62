// Drives Debian's headless Chromium through the explorer page of a running demo and (when
// given) of a bridge fed by the QEMU firmware. Started by tests/tests/explorer.rs:
//
//   node explorer.mjs --demo http://127.0.0.1:PORT/ [--bridge http://127.0.0.1:PORT/ --device NAME] --out DIR
//
// Exits 0 when every check passed; otherwise prints what failed and exits 1. Each page's
// screenshot is written to DIR.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const out = args.out || ".";
mkdirSync(out, { recursive: true });

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // As the workplace's notes say: no sandbox as root, and no background networking, which
  // this machine's closed network would refuse (and log as errors).
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

/** A page that records console errors, uncaught exceptions and failed requests. */
async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  await page.goto(url, { waitUntil: "load" });
  return { page, problems };
}

/** The table's rows, as the user sees them. */
const rows = (page) =>
  page.$$eval("#functions tbody tr.function", (trs) =>
    trs.map((tr) => ({
      function: tr.dataset.function,
      module: tr.dataset.module,
      device: tr.dataset.device,
      rate: tr.querySelector("td.rate").textContent,
      errors: tr.querySelector("td.errors").textContent,
      quantiles: [...tr.querySelectorAll("td.quantile")].map((td) => ({ text: td.textContent, title: td.title })),
    })),
  );

const number = (text) => Number.parseFloat(text);

async function waitFor(what, test, seconds = 30) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const value = await test();
    if (value || Date.now() > until) {
      check(Boolean(value), what);
      return value;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Points drawn in each chart of the detail panel. */
const chartPoints = (page) =>
  page.$$eval("#detail svg[id^=chart-]", (svgs) => svgs.map((s) => [s.id, Number(s.dataset.points || 0), s.querySelectorAll("polyline").length]));

async function demo(url) {
  const { page, problems } = await open(url);
  // The method and the trait method under their names — `<Catalog as Quote>::quote` shown as
  // text, not taken for markup.
  const expected = ["handle_request", "query", "render", "fetch_profile", "Catalog::price", "<Catalog as Quote>::quote"];
  const table = await waitFor("the table lists every demo function with a non-zero rate", async () => {
    const r = await rows(page);
    return expected.every((f) => r.some((x) => x.function === f && number(x.rate) > 0)) && r;
  });
  if (table) {
    for (const f of ["handle_request", "query"]) {
      const e = number(table.find((x) => x.function === f).errors);
      check(Math.abs(e - 10) <= 3, `${f}: error ratio ${e} % is within 3 points of the injected 10 %`);
    }
    const p = number(table.find((x) => x.function === "fetch_profile").errors);
    check(Math.abs(p - 20) <= 5, `fetch_profile: error ratio ${p} % (timeouts) is within 5 points of 20 %`);
    // `render` takes microseconds, under default buckets whose first bound is 5 ms: the page
    // says "< 5 ms", not the 2.50 ms an interpolation would invent.
    const fast = table.find((x) => x.function === "render").quantiles;
    check(
      fast.length === 3 && fast.every((q) => q.text === "< 5 ms" && q.title.includes("0 – 5 ms")),
      `render's percentiles claim no more than its first bucket: ${JSON.stringify(fast)}`,
    );
    const slow = table.find((x) => x.function === "query").quantiles;
    check(slow.some((q) => /^\d/.test(q.text) && q.title.startsWith("interpolated inside")), `query's are interpolated: ${JSON.stringify(slow)}`);
    const modules = await page.$$eval("#functions tbody", (b) => b.map((x) => x.dataset.module));
    check(modules.join() === "demo,demo::cache,demo::db,demo::pricing,demo::profile", `grouped by module: ${modules}`);
  }
  check((await page.textContent("#service")).length > 0, "the header shows the service name");
  check(/v\d/.test(await page.textContent("#build")), "the header shows the build's version");

  // Filtering and sorting.
  await page.fill("#filter", "fetch");
  const filtered = await rows(page);
  check(filtered.length === 1 && filtered[0].function === "fetch_profile", "the filter keeps matching functions only");
  await page.fill("#filter", "");
  await page.click("th[data-sort=rate]");
  const byRate = await page.$$eval("#functions tbody[data-module='demo::profile'] tr.function, #functions tbody tr.function", (t) => t.length);
  check(byRate >= 4 && (await page.getAttribute("th[data-sort=rate]", "class")).includes("sorted"), "the rate column sorts");

  // A function's detail: charts with points, its callers, its objective, its queries.
  await page.click("#functions tr.function[data-function=query]");
  await waitFor("choosing `query` shows its detail", () => page.isVisible("#detail"));
  await waitFor("its charts are drawn with data points", async () => {
    const charts = await chartPoints(page);
    return charts.length === 3 && charts.every(([, points, lines]) => points >= 2 && lines >= 1);
  });
  const graph = await page.textContent("#graph");
  check(graph.includes("handle_request"), "its callers include handle_request");
  check((await page.$$("#queries li")).length === 8, "its eight generated queries are listed (no concurrency query: it has no track_concurrency)");
  // The demo runs with --grafana-url http://grafana.test:3000: the header links the overview
  // dashboard, the detail the function's own with its variables set.
  check(
    (await page.getAttribute("#grafana", "href")) === "http://grafana.test:3000/d/picometrics-overview" && (await page.isVisible("#grafana")),
    `the header links Grafana's overview: ${await page.getAttribute("#grafana", "href")}`,
  );
  check(
    (await page.getAttribute("#dashboard", "href")) === "http://grafana.test:3000/d/picometrics-function?var-function=query&var-module=demo::db",
    `query's detail links its dashboard: ${await page.getAttribute("#dashboard", "href")}`,
  );
  await page.screenshot({ path: join(out, "explorer-demo-query.png"), fullPage: true });

  await page.click("#functions tr.function[data-function=handle_request]");
  await waitFor("handle_request's callees include query", async () => (await page.textContent("#graph")).includes("query"));
  await waitFor("handle_request (track_concurrency) lists nine queries, the concurrency one among them", async () =>
    (await page.$$("#queries li")).length === 9 && (await page.textContent("#queries")).includes("function_calls_concurrent"),
  );
  await waitFor("its objective shows the error budget spent", async () => /error budget spent/.test(await page.textContent("#objective")));
  await waitFor("the latency chart is drawn", async () => (await chartPoints(page))[2][1] >= 2);
  await page.screenshot({ path: join(out, "explorer-demo.png"), fullPage: true });
  check(problems.length === 0, `no console errors, exceptions or failed requests: ${JSON.stringify(problems)}`);
  await page.close();

  // A deep link opens that function's detail.
  const linked = await open(`${url}#function=query&module=demo%3A%3Adb`);
  await waitFor("a deep link (#function=query&module=demo::db) opens query's detail", async () =>
    (await linked.page.isVisible("#detail")) && (await linked.page.textContent("#detail-function")) === "query",
  );
  await linked.page.close();
}

async function bridge(url, device) {
  const { page, problems } = await open(url);
  await waitFor(`the device picker lists ${device}`, async () =>
    (await page.isVisible("#device-picker")) && (await page.$$eval("#device option", (o) => o.map((x) => x.value))).includes(device),
  );
  await page.selectOption("#device", device);
  const table = await waitFor(`the table shows ${device}'s functions`, async () => {
    const r = await rows(page);
    return r.length > 0 && r.every((x) => x.device === device) && r;
  });
  if (table) {
    await page.click(`#functions tr.function[data-device='${device}']`);
    await waitFor("a device function's detail opens", () => page.isVisible("#detail"));
    // --grafana-url: on a bridge the header links the devices dashboard.
    check(
      (await page.getAttribute("#grafana", "href")) === "http://grafana.test:3000/d/picometrics-devices",
      `the bridge's header links Grafana's devices dashboard: ${await page.getAttribute("#grafana", "href")}`,
    );
  }
  await page.screenshot({ path: join(out, "explorer-bridge.png"), fullPage: true });
  check(problems.length === 0, `bridge page: no console errors, exceptions or failed requests: ${JSON.stringify(problems)}`);
  await page.close();
}

try {
  if (args.demo) await demo(args.demo);
  if (args.bridge) await bridge(args.bridge, args.device);
} catch (e) {
  check(false, `the run ended with ${e.stack || e}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log("all checks passed");
