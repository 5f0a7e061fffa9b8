// Every custom forge step registers itself on import; import this module before computing any
// image tag so that tags always include every step's inputs.
import "./node-forge.ts";
