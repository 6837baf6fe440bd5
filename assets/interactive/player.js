// The recipient's video player: HLS through hls.js (or the browser's own HLS, or the MP4), our own
// accessible controls, captions drawn above the controls, a chapter list from the chapters track,
// calls to action over the video during their scenes (from the scenes track), engagement events
// through window.tailorEvents, and resume from the last position the server saw. Without this
// script the page keeps a plain <video controls> with the MP4 and its captions.
(function () {
  "use strict";
  var root = document.querySelector("[data-tailor-player]");
  if (!root) return;
  var video = root.querySelector("video");
  var config = JSON.parse(root.querySelector("[data-tp=config]").textContent);
  var text = config.text;
  var events = window.tailorEvents || { send: function () {}, once: function () {}, flush: function () {}, enabled: false };
  var part = function (name) { return root.querySelector("[data-tp=" + name + "]"); };
  var rtl = getComputedStyle(root).direction === "rtl";
  var digits = new Intl.NumberFormat(config.lang, { minimumIntegerDigits: 2, useGrouping: false });
  var plain = new Intl.NumberFormat(config.lang, { useGrouping: false });
  var state = { scene: null, captions: !!config.captionsOn, played: false, quartiles: {}, shown: {} };

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    return plain.format(Math.floor(seconds / 60)) + ":" + digits.format(seconds % 60);
  }
  function fields(extra) {
    var out = { scene: state.scene, position: video.currentTime };
    for (var key in extra) out[key] = extra[key];
    return out;
  }

  // Play the MP4 beside the stream instead, where the stream left off.
  function toMp4(mp4) {
    var at = video.currentTime, playing = !video.paused;
    video.src = mp4;
    video.addEventListener("loadedmetadata", function () {
      if (at) video.currentTime = at;
      if (playing) video.play().catch(function () {});
    }, { once: true });
    root.setAttribute("data-stream", "mp4");
  }

  // A fatal stream error: the MP4 beside it where there is one; an on-play stream (no MP4)
  // retries its network once, recovers a media error once, then says so.
  function onFatal(hls, data, mp4Url) {
    if (mp4Url) {
      hls.destroy();
      toMp4(mp4Url);
    } else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR && !state.recovered) {
      state.recovered = true;
      hls.recoverMediaError();
    } else if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR && !state.retried) {
      state.retried = true;
      hls.startLoad();
    } else {
      hls.destroy();
      var box = part("status");
      box.textContent = config.text.unavailable;
      box.hidden = false;
    }
  }

  function attachStream() {
    if (!config.hls || location.protocol === "file:") return;
    var source = video.querySelector("source");
    // the config's links are relative to the page's folder, as the <source> is (on a page
    // served elsewhere, e.g. a form's answer, the <source> has been made absolute)
    var base = source ? source.src : location.href;
    var hlsUrl = new URL(config.hls, base).href;
    var mp4Url = config.mp4 ? new URL(config.mp4, base).href : null;
    var script = window.Hls && window.Hls.isSupported();
    // on play (no MP4) hls.js drives the stream wherever it runs: it waits for segments still
    // being rendered and retries; the browser's own HLS is for browsers without MSE (iOS)
    if (video.canPlayType("application/vnd.apple.mpegurl") && (mp4Url || !script)) {
      if (source) source.remove();
      video.addEventListener("error", function () {
        if (/\.m3u8/.test(video.currentSrc) && mp4Url) toMp4(mp4Url);
      }, { once: true });
      video.src = hlsUrl;
      video.load();
      root.setAttribute("data-stream", "native");
    } else if (script) {
      if (source) source.remove();
      var hls = new window.Hls({ enableWorker: false, capLevelToPlayerSize: true });
      hls.on(window.Hls.Events.ERROR, function (_, data) {
        if (data.fatal) onFatal(hls, data, mp4Url);
      });
      hls.loadSource(hlsUrl);
      hls.attachMedia(video);
      root.setAttribute("data-stream", "hls.js");
    }
  }

  function trackOf(kind) {
    for (var i = 0; i < video.textTracks.length; i++) {
      if (video.textTracks[i].kind === kind) return video.textTracks[i];
    }
    return null;
  }
  function whenCues(kind, ready) {  // a hidden track still loads and fires cuechange
    var track = trackOf(kind);
    if (!track) return;
    track.mode = "hidden";
    var element = root.querySelector("track[kind=" + kind + "]");
    if (track.cues && track.cues.length) ready(track);
    else element.addEventListener("load", function () { ready(track); });
  }

  function setupCaptions() {
    var box = part("captions-box");
    var button = part("captions");
    whenCues("captions", function (track) {
      track.addEventListener("cuechange", function () {
        var cues = Array.prototype.map.call(track.activeCues || [], function (cue) { return cue.text; });
        box.textContent = "";
        if (cues.length) {
          var line = document.createElement("span");
          line.textContent = cues.join("\n");
          box.appendChild(line);
        }
        box.hidden = !state.captions || !cues.length;
      });
    });
    if (!button) return;
    button.addEventListener("click", function () {
      state.captions = !state.captions;
      button.setAttribute("aria-pressed", state.captions ? "true" : "false");
      box.hidden = !state.captions || !box.textContent;
    });
  }

  function setupChapters() {
    var nav = part("chapters");
    var list = nav.querySelector("ol");
    whenCues("chapters", function (track) {
      Array.prototype.forEach.call(track.cues, function (cue) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.setAttribute("data-chapter", cue.id);
        var title = document.createElement("span");
        title.textContent = cue.text;
        var at = document.createElement("span");
        at.className = "tp-chapter-time";
        at.dir = "ltr";
        at.textContent = clock(cue.startTime);
        button.appendChild(title);
        button.appendChild(at);
        button.addEventListener("click", function () {
          video.currentTime = cue.startTime;
          events.send("chapter_jump", fields({ target: cue.id, scene: cue.id, position: cue.startTime }));
          if (video.paused) video.play().catch(function () {});
        });
        item.appendChild(button);
        list.appendChild(item);
      });
      nav.hidden = !track.cues.length;
      track.addEventListener("cuechange", function () {
        var active = track.activeCues && track.activeCues.length ? track.activeCues[0].id : null;
        Array.prototype.forEach.call(list.querySelectorAll("button"), function (b) {
          if (b.getAttribute("data-chapter") === active) b.setAttribute("aria-current", "true");
          else b.removeAttribute("aria-current");
        });
      });
    });
  }

  function ctaLink(cta) {
    var link = document.createElement("a");
    link.className = "tp-cta";
    link.href = cta.href;
    link.textContent = cta.label;
    link.setAttribute("data-cta", cta.id);
    if (cta.external) link.rel = "noopener noreferrer";
    if (cta.chat) link.target = "_blank";
    link.addEventListener("click", function (event) {
      events.send("cta_click", fields({ target: cta.id }));
      if (cta.chat) {
        if (!cta.href || cta.href === "#") event.preventDefault();  // a widget, not a page
        if (events.openChat) events.openChat(cta.id);
      }
      if (cta.form) {
        video.pause();
        var form = document.getElementById("form-" + cta.form);
        if (form) {
          if (!form.hasAttribute("tabindex")) form.setAttribute("tabindex", "-1");
          setTimeout(function () { form.focus(); }, 0);
        }
      }
    });
    return link;
  }

  function showCtas() {
    var overlay = part("overlay");
    var now = video.currentTime;
    config.ctas.forEach(function (cta) {
      var on = cta.scenes.length ? cta.scenes.indexOf(state.scene) >= 0 : now >= cta.start && now < cta.end;
      var current = overlay.querySelector('[data-cta="' + cta.id + '"]');
      if (on && !current) {
        overlay.appendChild(ctaLink(cta));
        part("live").textContent = text.available + " " + cta.label;
        events.once("cta:" + cta.id, "cta_shown", fields({ target: cta.id }));
      } else if (!on && current) {
        if (document.activeElement === current) part("play").focus();
        current.remove();
      }
    });
  }

  function setupScenes() {
    whenCues("metadata", function (track) {
      track.addEventListener("cuechange", function () {
        state.scene = track.activeCues && track.activeCues.length ? track.activeCues[0].id : null;
        showCtas();
      });
    });
    var timed = config.ctas.some(function (cta) { return cta.start !== null && cta.start !== undefined; });
    if (timed) {  // a time range can start and end inside a scene
      video.addEventListener("timeupdate", showCtas);
      video.addEventListener("seeked", showCtas);
    }
  }

  function setupControls() {
    var play = part("play"), seek = part("seek"), time = part("time"), mute = part("mute");
    var full = part("fullscreen");
    video.removeAttribute("controls");
    part("controls").hidden = false;
    function toggle() { if (video.paused) video.play().catch(function () {}); else video.pause(); }
    play.addEventListener("click", toggle);
    video.addEventListener("click", toggle);
    function sync() {
      var playing = !video.paused && !video.ended;
      play.setAttribute("aria-label", playing ? text.pause : text.play);
      play.classList.toggle("tp-playing", playing);
    }
    video.addEventListener("play", sync);
    video.addEventListener("pause", sync);
    video.addEventListener("ended", sync);
    var dragging = false;
    seek.addEventListener("input", function () { dragging = true; video.currentTime = Number(seek.value); });
    seek.addEventListener("change", function () { dragging = false; });
    function progress() {
      var d = isFinite(video.duration) ? video.duration : 0;
      seek.max = String(d);
      if (!dragging) seek.value = String(video.currentTime);
      seek.setAttribute("aria-valuetext", clock(video.currentTime) + " " + text.of + " " + clock(d));
      time.textContent = clock(video.currentTime) + " / " + clock(d);
    }
    video.addEventListener("timeupdate", progress);
    video.addEventListener("durationchange", progress);
    mute.addEventListener("click", function () {
      video.muted = !video.muted;
      mute.setAttribute("aria-pressed", video.muted ? "true" : "false");
    });
    full.addEventListener("click", function () {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (root.requestFullscreen) root.requestFullscreen();
    });
    root.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;  // the browser's own shortcuts
      var tag = event.target.tagName;
      if (tag === "INPUT" || tag === "A" || (tag === "BUTTON" && event.key === " ")) return;
      var step = { ArrowRight: rtl ? -5 : 5, ArrowLeft: rtl ? 5 : -5 }[event.key];
      if (event.key === "k" || event.key === " ") toggle();
      else if (event.key === "m") mute.click();
      else if (event.key === "c" && part("captions")) part("captions").click();
      else if (step) video.currentTime = Math.max(0, video.currentTime + step);
      else return;
      event.preventDefault();
    });
  }

  function setupEvents() {
    video.addEventListener("playing", function () {
      if (!state.played) events.send("video_play", fields({}));
      state.played = true;
    });
    // Each quarter once per view, in order, when playback reaches it by playing: a seek or a
    // chapter jump moves the position without watching (`last` follows every seek).
    var last = 0;
    function quartiles() {
      var now = video.currentTime, from = last;
      var watched = !video.seeking && now >= from && now - from < 1.5;
      last = now;
      if (!watched || !isFinite(video.duration) || !video.duration) return;
      var share = (now / video.duration) * 100, before = (from / video.duration) * 100;
      [25, 50, 75, 100].forEach(function (q) {  // the quarters this stretch of playing crossed
        var mark = q === 100 ? 99.5 : q;
        if (!state.quartiles[q] && before < mark && share >= mark) {
          state.quartiles[q] = true;
          events.send("video_progress", fields({ value: q }));
        }
      });
    }
    video.addEventListener("timeupdate", function () {
      if (!video.paused || video.ended) quartiles();  // the end's own update still counts
      else last = video.currentTime;
    });
    video.addEventListener("seeked", function () { last = video.currentTime; });
    video.addEventListener("ended", function () {  // played to the end: what the last stretch crossed
      if (video.duration - last >= 1.5) return;
      var before = (last / video.duration) * 100;
      [25, 50, 75, 100].forEach(function (q) {
        if (!state.quartiles[q] && before < (q === 100 ? 99.5 : q)) {
          state.quartiles[q] = true;
          events.send("video_progress", fields({ value: q }));
        }
      });
    });
    video.addEventListener("pause", function () {
      if (video.ended) return;
      quartiles();  // the last timeupdate may be just short of where it paused
      events.send("video_pause", fields({}));
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "hidden") return;
      if (!video.paused) events.send("video_pause", fields({}));
      events.flush();
    });
  }

  function resume() {
    if (!events.enabled || !events.positionUrl) return;
    fetch(events.positionUrl, { credentials: "omit", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        var at = body && body.position;
        if (!(at > 2)) return;
        function apply() {
          if (isFinite(video.duration) && at > video.duration - 3) return;
          if (video.currentTime >= 1) return;  // already watching: no jump, no message
          video.currentTime = at;
          var status = part("status");
          status.textContent = text.resumed + " (" + clock(at) + ") ";
          var again = document.createElement("button");
          again.type = "button";
          again.className = "tp-start-over";
          again.textContent = text.start_over;
          again.addEventListener("click", function () {
            video.currentTime = 0;
            part("play").focus();  // before its message goes, so focus is not lost
            status.hidden = true;
          });
          status.appendChild(again);
          status.hidden = false;
        }
        if (video.readyState >= 1) apply();
        else video.addEventListener("loadedmetadata", apply, { once: true });
      })
      .catch(function () {});
  }

  if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    root.classList.add("tp-reduced-motion");
  }
  attachStream();
  setupControls();
  setupCaptions();
  setupChapters();
  setupScenes();
  setupEvents();
  resume();
  root.setAttribute("data-ready", "true");
})();
