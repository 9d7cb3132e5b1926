// The check-in desk's camera. The browser's BarcodeDetector reads the QR code where it exists
// (Chrome on Android); elsewhere (Safari, WeCom on iPhone) frames are drawn on a canvas and
// read by jsQR (vendored from npm). A code read is submitted like a typed one; the typed code
// always works, camera or not.
//
// Alpine is its CSP build (no eval: the page's Content-Security-Policy allows no inline or
// evaluated script), so the markup names only properties and methods of this component.
function scanner() {
  const camera = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  const supported = camera && ("BarcodeDetector" in window || typeof jsQR === "function");
  return {
    supported: supported,
    unsupported: !supported,
    running: false,
    get label() { return this.running ? "停止扫码" : "用摄像头扫码"; },
    stream: null,
    last: "",
    async toggle() {
      if (this.running) { this.stop(); return; }
      const read = await this.reader();
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const video = this.$refs.video;
      video.srcObject = this.stream;
      await video.play();
      this.running = true;
      const tick = async () => {
        if (!this.running) return;
        try {
          const value = ((await read(video)) || "").trim();
          if (value && value !== this.last) {
            this.last = value;
            const form = document.getElementById("codeform");
            form.code.value = value;
            htmx.trigger(form, "submit");
            setTimeout(() => { this.last = ""; }, 3000);
          }
        } catch (e) { /* a frame that could not be read: try the next */ }
        setTimeout(tick, 250);
      };
      tick();
    },
    async reader() {
      if ("BarcodeDetector" in window) {
        const detector = new BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => {
          const codes = await detector.detect(video);
          return codes.length ? codes[0].rawValue : "";
        };
      }
      const canvas = document.createElement("canvas");
      const context = canvas.getContext("2d", { willReadFrequently: true });
      return async (video) => {
        if (!video.videoWidth) return "";
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0);
        const found = jsQR(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
        return found ? found.data : "";
      };
    },
    stop() {
      this.running = false;
      if (this.stream) { this.stream.getTracks().forEach((t) => t.stop()); this.stream = null; }
    },
  };
}

document.addEventListener("alpine:init", () => { Alpine.data("scanner", scanner); });

// After a code is sent (typed or scanned), the field is emptied and ready for the next one.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (form && form.id === "codeform") { form.reset(); form.code.focus(); }
});
