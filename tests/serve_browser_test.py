"""mm-serve's page in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium) on serve_test's tiny run: a sentence typed and translated with its
alignment matrix, a PNG uploaded with its class and heat map, a WAV uploaded and one recorded
from Chromium's fake microphone with their transcripts and time strips, a parse tree drawn.
A screenshot of each step is kept: under $T2T_MM_TEST_ARTIFACTS if set, else pytest's tmp path.
Chromium missing is a failure, not a skip: .ci/run and the README's test command install it.
"""

import os
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, os.path.dirname(__file__))
import serve_test  # noqa: E402

served = serve_test.served  # The module fixture: mm-serve in a process, on its tiny run.

WAIT_S = 60


@pytest.fixture(scope="module")
def browser():
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
  if not binary or not driver:
    pytest.fail("The browser test needs Debian's chromium and chromium-driver: "
                "apt-get install -y chromium chromium-driver")
  options = webdriver.ChromeOptions()
  options.binary_location = binary
  for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1200,1400", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream"):
    options.add_argument(arg)
  # The driver given by path: Selenium Manager downloads nothing.
  chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
  try:
    yield chrome
  finally:
    chrome.quit()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
  folder = os.environ.get("T2T_MM_TEST_ARTIFACTS")
  if folder:
    os.makedirs(folder, exist_ok=True)
    return folder
  return str(tmp_path_factory.mktemp("screenshots"))


def _wait(chrome, condition, what):
  from selenium.webdriver.support.ui import WebDriverWait
  return WebDriverWait(chrome, WAIT_S).until(lambda d: condition(d), message=what)


def _decode(chrome, problem):
  """Picks `problem`, clicks Decode and waits for the answer (its time row); the output."""
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import Select
  Select(chrome.find_element(By.ID, "problem")).select_by_value(problem)
  chrome.execute_script("document.getElementById('details').replaceChildren()")
  chrome.find_element(By.ID, "decode").click()
  _wait(chrome, lambda d: d.find_element(By.ID, "error").text or
        " ms" in d.find_element(By.ID, "details").text, f"an answer for {problem}")
  assert chrome.find_element(By.ID, "error").text == ""
  return chrome.find_element(By.ID, "output").text


def _matrix_cells(chrome):
  return chrome.execute_script("return [...document.querySelectorAll('#matrix-svg rect.cell')]"
                               ".map(r => r.getAttribute('fill'))")


def test_the_page_in_headless_chromium(served, browser, artifacts, tmp_path):
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import Select
  url = served[0]
  chrome = browser
  chrome.get(url + "/")
  _wait(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#problem option")) == 3,
        "the problem picker")

  # Text: typed, translated, its alignment matrix (output tokens x the 4 input tokens).
  chrome.find_element(By.ID, "text").send_keys("3 4 5")
  output = _decode(chrome, "fake_copy")
  expected = serve_test._json(url, {"problem": "fake_copy", "text": "3 4 5", "attention": True})[1]
  assert output == expected["output"]
  _wait(chrome, lambda d: _matrix_cells(d), "the alignment matrix")
  rows = len(expected["attention"]["outputs"])
  assert len(_matrix_cells(chrome)) == rows * 4
  labels = chrome.find_element(By.ID, "matrix-svg").text
  assert "3" in labels and "</s>" in labels
  mean = _matrix_cells(chrome)
  assert [o.text for o in Select(chrome.find_element(By.ID, "layer")).options] == [
      "mean of all layers", "mixer", "decoder0"]
  Select(chrome.find_element(By.ID, "layer")).select_by_visible_text("mixer")
  assert len(_matrix_cells(chrome)) == rows * 4 and _matrix_cells(chrome) != mean
  chrome.save_screenshot(os.path.join(artifacts, "serve_text.png"))

  # Image: a PNG uploaded; its class, the top classes and the heat map over the image.
  png = tmp_path / "scene.png"
  rng = np.random.default_rng(1)
  png.write_bytes(tf.io.encode_png((rng.random((48, 64, 3)) * 255).astype("uint8")).numpy())
  Select(chrome.find_element(By.ID, "problem")).select_by_value("fake_image_label")
  chrome.find_element(By.ID, "file").send_keys(str(png))
  output = _decode(chrome, "fake_image_label")
  assert output in ("class0", "class1", "class2")
  assert output in chrome.find_element(By.ID, "details").text
  _wait(chrome, lambda d: d.execute_script(
      "const c = document.getElementById('heat-canvas');"
      "if (!c || !c.width) return false;"
      "const p = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
      "for (let i = 3; i < p.length; i += 4) if (p[i] > 0) return true; return false;"),
      "a heat map drawn over the image")
  assert chrome.find_element(By.CSS_SELECTOR, "#heat img").size["width"] == 320
  chrome.save_screenshot(os.path.join(artifacts, "serve_image.png"))

  # Audio: a WAV uploaded; its transcript (as the API gives it) and its strip over time.
  wav = tmp_path / "speech.wav"
  wav.write_bytes(serve_test.tf.audio.encode_wav(
      rng.uniform(-0.5, 0.5, (4000, 1)).astype("float32"), 16000).numpy())
  Select(chrome.find_element(By.ID, "problem")).select_by_value("fake_speech")
  chrome.find_element(By.ID, "file").send_keys(str(wav))
  output = _decode(chrome, "fake_speech")
  expected = serve_test._form(url, {"problem": "fake_speech", "attention": "true"},
                              ("a.wav", wav.read_bytes()))[1]
  assert output == expected["output"].strip()
  frames = expected["attention"]["inputs"]["frames"]
  assert len(_matrix_cells(chrome)) == len(expected["attention"]["outputs"]) * frames
  assert "0.25 s" in chrome.find_element(By.ID, "matrix-svg").text
  chrome.save_screenshot(os.path.join(artifacts, "serve_audio.png"))

  # The microphone (Chromium's fake device): recorded, encoded as a WAV in the page, decoded.
  chrome.find_element(By.ID, "record").click()
  _wait(chrome, lambda d: "recording" in d.find_element(By.ID, "mic-state").text,
        "the recording to start")
  chrome.execute_script("return new Promise(r => setTimeout(r, 800))")
  chrome.find_element(By.ID, "record").click()
  _wait(chrome, lambda d: "recorded" in d.find_element(By.ID, "mic-state").text,
        "the recording to stop")
  seconds = float(chrome.find_element(By.ID, "mic-state").text.split()[1])
  assert seconds >= 0.5
  # 16 kHz, 16-bit mono, as the page encodes it (RECORD_RATE).
  assert chrome.execute_script("return recorded.size") == pytest.approx(
      44 + 2 * 16000 * seconds, rel=0.1)
  _decode(chrome, "fake_speech")
  # The run reads at most its max_input_length frames of it; the fake device may be silent
  # there, so the strip may have no real frame: the answer is what is checked.
  assert chrome.execute_script("return attention.inputs.kind") == "audio"
  chrome.save_screenshot(os.path.join(artifacts, "serve_microphone.png"))

  # A parse: drawn as a tree beside its bracket string (the page's own drawing code).
  labels = chrome.execute_script(
      "const svg = drawTree(parseBrackets('(S (NP the cat) (VP sat))'));"
      "return [...svg.querySelectorAll('text')].map(t => t.textContent);")
  assert sorted(labels) == ["NP", "S", "VP", "cat", "sat", "the"]
  # parse_en_mini's form: closing brackets name their label.
  labels = chrome.execute_script(
      "const svg = drawTree(parseBrackets('(S (NP DT NN )NP (VP VBZ )VP . )S'));"
      "return [...svg.querySelectorAll('text')].map(t => t.textContent);")
  assert sorted(labels) == [".", "DT", "NN", "NP", "S", "VBZ", "VP"]
  for bad in ("a (b", "(S (NP DT )VP )S", "(S (NP DT NN )NP", "(S x ) y"):
    assert chrome.execute_script("return parseBrackets(arguments[0])", bad) is None, bad
  for name in ("serve_text", "serve_image", "serve_audio", "serve_microphone"):
    with open(os.path.join(artifacts, name + ".png"), "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
