"""Fake Glance (image v2): the image catalogue (read-only), with the schema glanceclient fetches."""

from .web import HttpError, iso

IMAGE_SCHEMA = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "properties": {
        "id": {"type": "string"},
        "name": {"type": ["null", "string"]},
        "status": {"type": "string"},
        "visibility": {"type": "string"},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "checksum": {"type": ["null", "string"]},
        "owner": {"type": ["null", "string"]},
        "size": {"type": ["null", "integer"]},
        "virtual_size": {"type": ["null", "integer"]},
        "min_ram": {"type": "integer"},
        "min_disk": {"type": "integer"},
        "container_format": {"type": ["null", "string"]},
        "disk_format": {"type": ["null", "string"]},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "file": {"type": "string"},
        "schema": {"type": "string"},
        "self": {"type": "string"},
    },
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
}


class Glance(object):
    service_type = "image"

    def __init__(self, cloud):
        self.cloud = cloud
        self.images = {}
        for img in cloud.catalogue.get("images", []):
            self.images[img["id"]] = {
                "id": img["id"], "name": img["name"], "status": img.get("status", "active"),
                "visibility": "public", "protected": False, "os_hidden": False, "owner": "admin",
                "min_ram": int(img.get("min_ram", 0)), "min_disk": int(img.get("min_disk", 0)),
                "size": int(img.get("size", 2 * 1024 ** 3)), "virtual_size": None,
                "container_format": "bare", "disk_format": "qcow2", "checksum": None,
                "created_at": iso(), "updated_at": iso(), "tags": [],
                "file": "/v2/images/%s/file" % img["id"], "schema": "/v2/schemas/image",
            }

    def register(self, r):
        r.add("GET", "/image", self.versions)
        r.add("GET", "/image/v2/schemas/image", lambda req: (200, IMAGE_SCHEMA))
        r.add("GET", "/image/v2/images", self.list)
        r.add("GET", "/image/v2/images/(?P<id>[^/]+)", self.get)

    def versions(self, req):
        return 300, {"versions": [{"id": "v2.15", "status": "CURRENT",
                                   "links": [{"rel": "self", "href": self.cloud.base_url + "/image/v2/"}]}]}

    def by_id(self, image_id):
        return self.images.get(image_id)

    def get(self, req):
        self.cloud.require_token(req)
        img = self.images.get(req.params["id"])
        if img is None:
            raise HttpError(404, {"message": "No image found with ID %s" % req.params["id"], "code": "404 Not Found"})
        return 200, dict(img, self="/v2/images/" + img["id"])

    def list(self, req):
        self.cloud.require_token(req)
        out = []
        for img in sorted(self.images.values(), key=lambda i: i["name"]):
            if all(img.get(k) == v[-1] for k, v in req.query.items()
                   if k not in ("limit", "marker", "sort_key", "sort_dir", "sort")):
                out.append(dict(img, self="/v2/images/" + img["id"]))
        return 200, {"images": out, "first": "/v2/images", "schema": "/v2/schemas/images"}
