// Drives the promptseg viewer in headless Chromium: open the sample case, go to slice 7 with
// the keyboard, click inside the lesion, wait for the overlay, check undo/redo, channels and
// the entropy overlay, download the mask and save it into the data folder. Prints one JSON line.
// Usage: node viewer_test.mjs URL OUT_DIR   (env CHROMIUM: the browser binary)
import { chromium } from "playwright-core";
import path from "node:path";

const [url, outDir] = process.argv.slice(2);
const CASE = "10021_1000021";
const CLICK = [79, 57, 7];
const errors = [];
const result = {};

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.setDefaultTimeout(60000);
  const idle = () => page.waitForFunction(() => document.getElementById("status").dataset.busy === "0");

  await page.goto(url);
  await page.waitForSelector(`#case-select option[value="${CASE}"]`, { state: "attached" });
  await page.selectOption("#case-select", CASE);
  await page.click("#open-button");
  await page.waitForFunction((c) => document.body.dataset.case === c, CASE);
  await idle();

  // Slice navigation: keyboard to k = 7, and the wheel moves one slice each way.
  const sliceK = () => page.$eval("#slice-label", (e) => Number(e.dataset.k));
  let k = await sliceK();
  while (k > CLICK[2]) { await page.keyboard.press("ArrowDown"); k = await sliceK(); }
  while (k < CLICK[2]) { await page.keyboard.press("ArrowUp"); k = await sliceK(); }
  check(k === CLICK[2], "keyboard reaches slice 7");
  const box = await page.locator("#axial").boundingBox();
  const dims = await page.evaluate(() => window.promptseg.dims);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -100);
  await page.waitForFunction(() => window.promptseg.k === 8);
  await page.mouse.wheel(0, 100);
  await page.waitForFunction(() => window.promptseg.k === 7);

  // Channel switch and window/level.
  await page.keyboard.press("2");
  await page.waitForFunction(() => window.promptseg.channel === "adc" && !!window.promptseg.vols.adc);
  await page.keyboard.press("3");
  await page.waitForFunction(() => window.promptseg.channel === "hbv" && !!window.promptseg.vols.hbv);
  await page.keyboard.press("1");
  await page.waitForFunction(() => window.promptseg.channel === "t2w");
  await page.locator("#window").fill("300");
  const wl = await page.evaluate(() => window.promptseg.wl.t2w);
  await page.click("#auto-wl");
  result.window_level_changed = wl.hi - wl.lo;

  // The click: the centre of voxel (79, 57) on the axial canvas.
  const pixel = async () => page.evaluate(([i, j]) => {
    const d = document.getElementById("axial").getContext("2d").getImageData(i, j, 1, 1).data;
    return [d[0], d[1], d[2]];
  }, CLICK);
  const before = await pixel();
  check(before[0] === before[2], "grey before the click");
  const cx = box.x + ((CLICK[0] + 0.5) / dims[0]) * box.width;
  const cy = box.y + ((CLICK[1] + 0.5) / dims[1]) * box.height;
  const t0 = Date.now();
  await page.mouse.click(cx, cy);
  await page.waitForFunction(() => window.promptseg.state && window.promptseg.state.lesions.length === 1);
  await idle();
  result.click_wall_ms = Date.now() - t0;
  const st = await page.evaluate(() => window.promptseg.state);
  result.lesion = st.lesions[0];
  check(st.lesions[0].prompt.join(",") === CLICK.join(","), "the click reached voxel 79,57,7: " + st.lesions[0].prompt);
  check(st.call === "positive", "called positive");
  const after = await pixel();
  check(after[0] !== after[2], "overlay drawn at the click: " + after);
  result.summary = await page.textContent("#summary");
  check(/mL/.test(result.summary), "volume in mL shown");

  // A second, warm click in the same window, then delete it with its button.
  const t1 = Date.now();
  await page.mouse.click(cx + (3 / dims[0]) * box.width, cy + (2 / dims[1]) * box.height);
  await page.waitForFunction(() => window.promptseg.state.lesions.length === 2);
  await idle();
  result.warm_click_wall_ms = Date.now() - t1;
  result.warm_click_server_ms = await page.evaluate(() => window.promptseg.state.lesions[1].ms);
  check(await page.evaluate(() => window.promptseg.state.lesions[1].reused_window), "second click reused the window");
  const secondId = await page.evaluate(() => window.promptseg.state.lesions[1].id);
  await page.click(`#lesion-list button[data-lesion="${secondId}"]`);
  await page.waitForFunction(() => window.promptseg.state.lesions.length === 1);
  await idle();

  // Undo / redo (keyboard and buttons).
  await page.keyboard.press("Control+z");
  await page.waitForFunction(() => window.promptseg.state.lesions.length === 2);
  await idle();
  await page.click("#redo-button");
  await page.waitForFunction(() => window.promptseg.state.lesions.length === 1);
  await idle();

  // Entropy overlay.
  await page.keyboard.press("e");
  await page.waitForFunction(() => window.promptseg.entropy && window.promptseg.entropy.some((v) => v > 0));
  await page.keyboard.press("e");

  // Sagittal and coronal views show the lesion too (cursor at the click).
  await page.mouse.move(cx, cy);
  const side = await page.evaluate(([i, j, k]) => {
    const nz = window.promptseg.dims[2];
    const s = document.getElementById("sagittal").getContext("2d").getImageData(j, nz - 1 - k, 1, 1).data;
    const c = document.getElementById("coronal").getContext("2d").getImageData(i, nz - 1 - k, 1, 1).data;
    return [s[0] !== s[2], c[0] !== c[2]];
  }, CLICK);
  check(side[0] && side[1], "overlay in sagittal and coronal views");

  // Download and save.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-button")]);
  result.download_name = download.suggestedFilename();
  await download.saveAs(path.join(outDir, "viewer_mask.nii.gz"));
  await page.click("#save-button");
  await page.waitForFunction(() => /^saved /.test(document.getElementById("status").textContent));
  await page.screenshot({ path: path.join(outDir, "viewer.png") });
  result.errors = errors;
  check(errors.length === 0, "no page errors: " + errors.join("; "));
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.message ? e.message : e);
  result.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
