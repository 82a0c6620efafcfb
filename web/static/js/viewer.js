// Interactive 3D preview of a design: three.js (served from our own node_modules mount),
// STL loaded from /api/v1/designs/{id}.stl, orbit controls, a millimetre grid.
// The drawing buffer is preserved so tests (and "save image") can read its pixels.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { STLLoader } from "three/addons/loaders/STLLoader.js";

/** Create a viewer inside `container`; returns {load(url) -> Promise, dispose()}. */
export function createViewer(container, { status } = {}) {
  const say = (text) => { if (status) status.textContent = text; };
  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  } catch (err) {
    say("3D preview needs WebGL, which this browser does not offer");
    return { load: async () => {}, dispose() {} };
  }
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(dark ? 0x1b222c : 0xeef2f7);
  const camera = new THREE.PerspectiveCamera(40, 4 / 3, 0.5, 10000);
  camera.up.set(0, 0, 1); // STL is Z-up: keep it so, the grid lies in the XY plane
  scene.add(new THREE.HemisphereLight(0xffffff, 0x445566, 1.6));
  const key = new THREE.DirectionalLight(0xffffff, 2.2);
  key.position.set(1, -1.4, 2);
  scene.add(key);
  const fill = new THREE.DirectionalLight(0xffffff, 0.6);
  fill.position.set(-1.5, 1, 0.5);
  scene.add(fill);
  container.prepend(renderer.domElement);
  renderer.domElement.setAttribute("data-testid", "viewer-canvas");

  const controls = new OrbitControls(camera, renderer.domElement);
  controls.enableDamping = true;
  controls.dampingFactor = 0.12;
  renderer.domElement.tabIndex = 0; // arrow keys pan when the canvas has focus
  renderer.domElement.setAttribute("aria-label", "3D view: arrow keys pan, drag to orbit");
  controls.listenToKeyEvents(renderer.domElement);

  let mesh = null, grid = null, frame = 0, disposed = false;
  const render = () => { renderer.render(scene, camera); };
  const loop = () => {
    if (disposed) return;
    frame = requestAnimationFrame(loop);
    if (controls.update()) render();
  };
  controls.addEventListener("change", render);

  function resize() {
    const w = container.clientWidth || 400, h = container.clientHeight || 300;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    render();
  }
  const observer = new ResizeObserver(resize);
  observer.observe(container);
  resize();
  loop();

  function frameObject(box) {
    const size = box.getSize(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    const radius = Math.max(size.length() / 2, 1);
    const dist = radius / Math.sin((camera.fov * Math.PI) / 360) * 1.05;
    camera.position.set(center.x + dist * 0.6, center.y - dist * 0.75, center.z + dist * 0.55);
    camera.near = dist / 100; camera.far = dist * 20;
    camera.updateProjectionMatrix();
    controls.target.copy(center);
    controls.update();
  }

  async function load(url) {
    say("Loading 3D model…");
    const loader = new STLLoader();
    let geometry;
    try {
      geometry = await loader.loadAsync(url);
    } catch (err) {
      say("The 3D model could not be loaded");
      throw err;
    }
    if (disposed) return;
    geometry.computeBoundingBox();
    const bb = geometry.boundingBox;
    // stand the part on the grid, centred
    geometry.translate(-(bb.min.x + bb.max.x) / 2, -(bb.min.y + bb.max.y) / 2, -bb.min.z);
    geometry.computeVertexNormals();
    geometry.computeBoundingBox();
    if (mesh) { scene.remove(mesh); mesh.geometry.dispose(); mesh.material.dispose(); }
    if (grid) { scene.remove(grid); grid.geometry.dispose(); grid.material.dispose(); }
    mesh = new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({ color: 0x2f74d0, roughness: 0.55, metalness: 0.05 }));
    scene.add(mesh);
    const size = geometry.boundingBox.getSize(new THREE.Vector3());
    const extent = Math.ceil((Math.max(size.x, size.y) * 1.5) / 20) * 20 || 100; // mm, even tens
    grid = new THREE.GridHelper(extent, extent / 10, dark ? 0x6b7a8c : 0x8a98aa, dark ? 0x364250 : 0xc9d2dd);
    grid.rotation.x = Math.PI / 2; // into the XY plane (Z up)
    scene.add(grid);
    frameObject(geometry.boundingBox);
    render();
    const tris = geometry.attributes.position.count / 3;
    say(`${Math.round(size.x)} × ${Math.round(size.y)} × ${Math.round(size.z)} mm · ${tris.toLocaleString()} triangles`);
    container.dataset.loaded = url;
  }

  function dispose() {
    disposed = true;
    cancelAnimationFrame(frame);
    observer.disconnect();
    controls.dispose();
    renderer.dispose();
  }
  return { load, dispose };
}
