// The console's only script, and optional: every screen works without it. It writes the
// viewer's local time beside each UTC time, keeps the schedule rows' statuses live (often while
// a run is queued or in progress, seldom otherwise), and expands an audit run's details in place.
"use strict";

const POLL_MS = 1000;  // while a run is queued or in progress
const IDLE_POLL_MS = 10000;  // while every sync type is idle
const IDLE = "None";

function localTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]")) {
    if (time.nextElementSibling && time.nextElementSibling.classList.contains("local")) continue;
    const moment = new Date(time.getAttribute("datetime"));
    const local = document.createElement("span");
    local.className = "local";
    local.textContent = " (" + moment.toLocaleString([], {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    }) + " your time)";
    time.after(local);
  }
}

// Poll the rows: often while a run is queued or in progress, seldom while all are idle (a
// run started by the timer, a webhook or another operator shows too); never while the tab is
// hidden. Only the live cells are copied, so focus stays where it is.
function liveSchedules() {
  const body = document.getElementById("schedule-rows");
  if (!body) return;
  const busy = () => [...body.querySelectorAll("tr[data-status]")]
    .some((row) => row.dataset.status !== IDLE);
  let timer = null;
  function next() {
    clearTimeout(timer);
    timer = document.visibilityState === "hidden" ? null
      : setTimeout(poll, busy() ? POLL_MS : IDLE_POLL_MS);
  }
  async function poll() {
    try {
      const answer = await fetch(body.dataset.poll, { headers: { Accept: "text/html" } });
      if (answer.ok) {
        const fresh = document.createElement("tbody");
        fresh.innerHTML = await answer.text();
        for (const row of fresh.querySelectorAll("tr[data-sync-type]")) {
          const mine = body.querySelector(`tr[data-sync-type="${row.dataset.syncType}"]`);
          if (!mine) continue;
          mine.dataset.status = row.dataset.status;
          for (const cell of row.querySelectorAll("[data-live]")) {
            const target = mine.querySelector(`[data-live="${cell.dataset.live}"]`);
            if (target && target.innerHTML !== cell.innerHTML) {
              target.innerHTML = cell.innerHTML;
              localTimes(target);
            }
          }
        }
      }
    } catch {
      // The host is away (a restart, the network): try again at the next beat.
    } finally {
      next();
    }
  }
  // Back on the tab: read at once, since anything may have happened meanwhile.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      clearTimeout(timer);
      timer = null;
    } else {
      clearTimeout(timer);
      poll();
    }
  });
  next();
}

// A run's sync type links to its details page; with the script it opens them below the row.
function expandableRuns() {
  for (const link of document.querySelectorAll("a[data-expand]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const row = link.closest("tr");
      const open = row.nextElementSibling && row.nextElementSibling.classList.contains("expanded")
        ? row.nextElementSibling : null;
      if (open) {
        open.remove();
        link.setAttribute("aria-expanded", "false");
        return;
      }
      const answer = await fetch(link.href + "?part=details");
      const details = document.createElement("tr");
      details.className = "expanded";
      const cell = document.createElement("td");
      cell.colSpan = row.children.length;
      cell.innerHTML = answer.ok ? await answer.text()
        : '<p class="error" role="alert">The details could not be read: open the run\'s page.</p>';
      details.append(cell);
      row.after(details);
      localTimes(cell);
      link.setAttribute("aria-expanded", "true");
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  liveSchedules();
  expandableRuns();
});
