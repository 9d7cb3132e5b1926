// The check-in desk's camera: the browser's BarcodeDetector reads a QR code from the video and
// submits it like a typed code. Where the browser has no BarcodeDetector the button is hidden
// and the typed code is the way (it always works).
function scanner() {
  return {
    supported: "BarcodeDetector" in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
    running: false,
    stream: null,
    last: "",
    async toggle() {
      if (this.running) { this.stop(); return; }
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const video = this.$refs.video;
      video.srcObject = this.stream;
      await video.play();
      this.running = true;
      const tick = async () => {
        if (!this.running) return;
        try {
          const codes = await detector.detect(video);
          const value = codes.length ? codes[0].rawValue.trim() : "";
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
    stop() {
      this.running = false;
      if (this.stream) { this.stream.getTracks().forEach((t) => t.stop()); this.stream = null; }
    },
  };
}
