// Reads r,g,b bytes (3 per colour) from a file, writes one line per colour:
// APCA Lc of black text, APCA Lc of white text, WCAG 2 contrast of black, of white.
import { readFileSync } from "node:fs";
import { ColorSpace, sRGB, contrastAPCA, contrastWCAG21 } from "colorjs.io/fn";

ColorSpace.register(sRGB);
const bytes = readFileSync(process.argv[2]);
const black = { space: sRGB, coords: [0, 0, 0], alpha: 1 };
const white = { space: sRGB, coords: [1, 1, 1], alpha: 1 };
const lines = [];
for (let i = 0; i + 2 < bytes.length; i += 3) {
  const background = { space: sRGB, coords: [bytes[i] / 255, bytes[i + 1] / 255, bytes[i + 2] / 255], alpha: 1 };
  lines.push(
    [
      contrastAPCA(background, black),
      contrastAPCA(background, white),
      contrastWCAG21(background, black),
      contrastWCAG21(background, white),
    ].join(","),
  );
}
process.stdout.write(lines.join("\n") + "\n");
